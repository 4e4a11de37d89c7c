"""Resource limits for untrusted input: every store checks them, so a hostile file fails fast.

A pull request can carry a file that a CI gate running sopskit reads: nested a thousand levels
deep, a YAML alias bomb that expands 342 bytes into billions of nodes, a dotenv file whose
flattened metadata names list element 10**12. Each limit below is far above what a real
secrets file needs, and each has an environment variable to raise it (docs/limits.md):

==========================  =============================  ====================================
limit                       variable                       default
==========================  =============================  ====================================
file size (bytes)           ``SOPSKIT_MAX_FILE_SIZE``      64 MiB
nesting depth               ``SOPSKIT_MAX_DEPTH``          1000 (hard ceiling 5000)
nodes after alias expansion ``SOPSKIT_MAX_NODES``          1 000 000
metadata list index         ``SOPSKIT_MAX_LIST_INDEX``     10 000
==========================  =============================  ====================================

Going over a limit raises :class:`~sopskit.errors.LimitError` (exit 2, sops's code for input
it cannot read): one line naming the limit and the variable, never a value.

Depth and recursion: the walks over a tree (encryption, MAC, emitters, metadata) recurse, one
to a few Python frames per level. :func:`check_tree` measures depth iteratively and, when a
tree is deep, raises the interpreter's recursion limit to what the documented maximum needs,
so no walk meets ``RecursionError`` below the limit. The ceiling keeps the C stack safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping

from sopskit.errors import LimitError
from sopskit.record import FrozenRecord

__all__ = [
    "HARD_MAX_DEPTH",
    "Limits",
    "check_depth",
    "check_list_index",
    "check_size",
    "check_tree",
    "current",
    "ensure_recursion_headroom",
    "exceeded_nodes",
]

#: a depth beyond which even a raised recursion limit could exhaust the C stack
HARD_MAX_DEPTH = 5000
#: interpreter frames a walk may use per level of nesting (emitters use the most)
_FRAMES_PER_LEVEL = 6
_DEEP = 100  # below this depth the default recursion limit is enough for every walk


class Limits(FrozenRecord):
    """The limits in force (immutable). A record, not a dataclass or named tuple: either
    costs every cold start time to define (docs/performance.md)."""

    __slots__ = ("max_depth", "max_file_size", "max_list_index", "max_nodes")
    _fields = ("max_file_size", "max_depth", "max_nodes", "max_list_index")

    max_file_size: int
    max_depth: int
    max_nodes: int
    max_list_index: int

    def __init__(self, max_file_size: int = 64 * 1024 * 1024, max_depth: int = 1000, max_nodes: int = 1_000_000,
                 max_list_index: int = 10_000) -> None:
        object.__setattr__(self, "max_file_size", max_file_size)
        object.__setattr__(self, "max_depth", max_depth)
        object.__setattr__(self, "max_nodes", max_nodes)
        object.__setattr__(self, "max_list_index", max_list_index)


_VARIABLES = {
    "max_file_size": "SOPSKIT_MAX_FILE_SIZE",
    "max_depth": "SOPSKIT_MAX_DEPTH",
    "max_nodes": "SOPSKIT_MAX_NODES",
    "max_list_index": "SOPSKIT_MAX_LIST_INDEX",
}


def current(env: Mapping[str, str] | None = None) -> Limits:
    """The limits in force: defaults, overridden by the ``SOPSKIT_MAX_*`` variables."""
    env = os.environ if env is None else env
    values: dict[str, int] = {}
    for field, variable in _VARIABLES.items():
        text = env.get(variable, "").strip()
        if not text:
            continue
        try:
            number = int(text.replace("_", ""))
        except ValueError:
            raise LimitError(f"{variable} must be a whole number, not {text[:20]!r}") from None
        if number <= 0:
            raise LimitError(f"{variable} must be positive")
        values[field] = number
    limits = Limits(**values)
    if limits.max_depth > HARD_MAX_DEPTH:
        raise LimitError(f"SOPSKIT_MAX_DEPTH cannot exceed {HARD_MAX_DEPTH} (the interpreter's stack)")
    return limits


def _exceeded(what: str, limit: int, field: str) -> LimitError:
    return LimitError(f"the input exceeds the {what} limit of {limit}",
                      hint=f"if the file is genuine, raise {_VARIABLES[field]} (see docs/limits.md)")


def check_size(data: bytes | str, limits: Limits | None = None) -> None:
    limits = limits or current()
    if len(data) > limits.max_file_size:
        raise _exceeded("file size (bytes)", limits.max_file_size, "max_file_size")


def check_depth(depth: int, limits: Limits | None = None) -> None:
    limits = limits or current()
    if depth > limits.max_depth:
        raise _exceeded("nesting depth", limits.max_depth, "max_depth")


def check_list_index(index: int, limits: Limits | None = None) -> None:
    limits = limits or current()
    if index > limits.max_list_index:
        raise _exceeded("metadata list index", limits.max_list_index, "max_list_index")


def exceeded_nodes(limits: Limits) -> LimitError:
    """The error for too many nodes (the YAML loader counts them as it builds)."""
    return _exceeded("node count (YAML aliases expanded, flow nodes counted per enclosing flow "
                     "collection)", limits.max_nodes, "max_nodes")


def ensure_recursion_headroom(depth: int) -> None:
    """Let recursive walks go ``depth`` levels deep (never lowers the current limit)."""
    needed = min(depth, HARD_MAX_DEPTH) * _FRAMES_PER_LEVEL + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def check_tree(roots: Iterable[object], limits: Limits | None = None) -> None:
    """Measure depth and node count of trees without recursion; enforce both limits.

    Containers are ``TreeMap`` (``.entries`` of pairs), ``dict`` and ``list``; everything else
    is a leaf. Called by every store after parsing, so the rest of sopskit only ever sees
    trees within the limits.
    """
    limits = limits or current()
    nodes = 0
    deepest = 0
    stack: list[tuple[object, int]] = [(root, 1) for root in roots]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise exceeded_nodes(limits)
        entries = getattr(node, "entries", None)
        if entries is not None:
            children: Iterable[object] = (value for _key, value in entries)
        elif isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            check_depth(depth, limits)
        stack.extend((child, depth + 1) for child in children)
    if deepest > _DEEP:
        ensure_recursion_headroom(deepest)
