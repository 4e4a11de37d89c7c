"""Metadata flattening for the flat stores (dotenv, INI), and their scalar-to-text rule.

dotenv and INI files hold only ``key = text`` pairs, so sops writes its nested ``sops`` block
as flat keys (``stores/flatten.go``): a nested mapping entry becomes ``<parent>__map_<key>``,
a list element ``<parent>__list_<i>``; top-level keys carry no separator
(``pgp__list_0__map_fp``). Non-string scalars are written as text (``shamir_threshold=2``,
``mac_only_encrypted=true``) and read back to their types.

Why a module of its own: both flat stores need exactly the same mapping in both directions,
and unflattening is where malformed files are caught, so it deserves one careful place.

Unlike sops (which turns a bad list index into 0 and panics on some type clashes), malformed
keys raise :class:`~sopskit.errors.FormatError` naming the key, never its value.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sopskit.errors import FormatError
from sopskit.format.codec import format_time, go_format_float
from sopskit.format.tree import with_nanoseconds
from sopskit.stores.limits import Limits, check_depth, check_list_index
from sopskit.stores.limits import current as current_limits

MAP_SEPARATOR = "__map_"
LIST_SEPARATOR = "__list_"

_SEPARATOR_RE = re.compile(f"({MAP_SEPARATOR}|{LIST_SEPARATOR})")
_INDEX_RE = re.compile(r"^(?:0|[1-9][0-9]*)$")


# -- flattening --------------------------------------------------------------------------------

def flatten_metadata(plain: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``sops`` block as flat ``(key, text)`` pairs, in the order of ``plain``.

    ``plain`` comes from :func:`sopskit.format.metadata.metadata_to_plain`, already sorted at
    every level, so walking it in order gives sops 3.13's key order. ``None`` values and empty
    lists or mappings produce no entry, as in sops. Newlines are *not* escaped here: each store
    applies its own rule.
    """
    out: list[tuple[str, str]] = []
    for key, value in plain.items():
        _flatten_into(out, str(key), value)
    return out


def _flatten_into(out: list[tuple[str, str]], prefix: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _flatten_into(out, f"{prefix}{MAP_SEPARATOR}{key}", child)
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            _flatten_into(out, f"{prefix}{LIST_SEPARATOR}{index}", child)
    elif value is not None:
        out.append((prefix, metadata_scalar_to_text(value)))


def metadata_scalar_to_text(value: Any) -> str:
    """sops's ``EncodeNonStrings``: ints as decimal, booleans ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return value_to_text(value)


# -- unflattening ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _MapStep:
    key: str


@dataclass(frozen=True)
class _ListStep:
    index: int


_Step = _MapStep | _ListStep


def _tokenize(flat_key: str) -> list[_Step]:
    """Split ``a__list_0__map_b`` into steps; every separator occurrence counts, as in sops."""
    parts = _SEPARATOR_RE.split(flat_key)
    head = parts[0]
    if head == "":
        raise FormatError(f"sops metadata key {flat_key!r} has an empty top-level name")
    steps: list[_Step] = [_MapStep(head)]
    for separator, text in zip(parts[1::2], parts[2::2], strict=True):
        if separator == LIST_SEPARATOR:
            if not _INDEX_RE.match(text):
                raise FormatError(f"sops metadata key {flat_key!r} has a bad list index")
            # a 5000-digit index must fail on the limit, not in int()'s own digit limit
            steps.append(_ListStep(int(text) if len(text) < 19 else 10**18))
        else:
            if text == "":
                raise FormatError(f"sops metadata key {flat_key!r} has an empty map key")
            steps.append(_MapStep(text))
    return steps


class _Unset:
    """Placeholder for a list slot not seen yet (lists must end up dense)."""


_UNSET = _Unset()


def unflatten_metadata(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild the nested ``sops`` block from flat ``(key, text)`` pairs.

    Values stay strings except ``shamir_threshold`` (int) and ``mac_only_encrypted`` (bool),
    which sops decodes from text. Raises :class:`FormatError` for duplicate keys, a key used
    both as a value and as a container, a list that has gaps, or a malformed key.
    """
    root: dict[str, Any] = {}
    limits = current_limits()
    for flat_key, text in items:
        steps = _tokenize(flat_key)
        check_depth(len(steps), limits)
        _place(root, steps, text, flat_key, limits)
    _check_dense(root, "")
    _decode_non_strings(root)
    return root


def _place(root: dict[str, Any], steps: list[_Step], value: str, flat_key: str, limits: Limits) -> None:
    node: Any = root
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        following = None if last else steps[position + 1]
        if isinstance(step, _MapStep):
            if not isinstance(node, dict):
                raise FormatError(f"sops metadata key {flat_key!r} mixes a list and a mapping")
            current = node.get(step.key, _UNSET)
            node = _descend_or_set(node, step.key, current, following, value, flat_key)
        else:
            if not isinstance(node, list):
                raise FormatError(f"sops metadata key {flat_key!r} mixes a list and a mapping")
            check_list_index(step.index, limits)
            while len(node) <= step.index:
                node.append(_UNSET)
            node = _descend_or_set(node, step.index, node[step.index], following, value, flat_key)


def _descend_or_set(
    container: Any, slot: Any, current: Any, following: _Step | None, value: str, flat_key: str
) -> Any:
    if following is None:
        if current is not _UNSET:
            raise FormatError(f"sops metadata key {flat_key!r} appears more than once")
        container[slot] = value
        return None
    wanted: type = dict if isinstance(following, _MapStep) else list
    if current is _UNSET:
        current = wanted()
        container[slot] = current
    elif not isinstance(current, wanted):
        raise FormatError(f"sops metadata key {flat_key!r} clashes with another key's type")
    return current


def _check_dense(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for key, child in node.items():
            _check_dense(child, f"{where}{MAP_SEPARATOR if where else ''}{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            if child is _UNSET:
                raise FormatError(f"sops metadata list {where!r} has no element {index}")
            _check_dense(child, f"{where}{LIST_SEPARATOR}{index}")


def _decode_non_strings(root: dict[str, Any]) -> None:
    """sops's ``DecodeNonStrings`` for the two typed top-level fields."""
    if "mac_only_encrypted" in root:
        root["mac_only_encrypted"] = root["mac_only_encrypted"] == "true"
    if "shamir_threshold" in root:
        root["shamir_threshold"] = _parse_threshold(root["shamir_threshold"])


def _parse_threshold(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            as_float = float(text)  # INI files written by sops <= 3.10 hold "2.000000"
        except ValueError:
            as_float = math.nan
        if as_float.is_integer():
            return int(as_float)
    raise FormatError("sops metadata: shamir_threshold is not an integer")


# -- newline escaping --------------------------------------------------------------------------

def escape_newlines(text: str) -> str:
    """sops's ``EncodeNewLines``: a newline becomes the two characters ``\\n``."""
    return text.replace("\n", "\\n")


def unescape_newlines(text: str) -> str:
    """sops's ``DecodeNewLines``: every two-character ``\\n`` becomes a newline."""
    return text.replace("\\n", "\n")


# -- scalar to text ----------------------------------------------------------------------------

def value_to_text(value: Any) -> str:
    """sops's ``stores.ValToString`` (3.11+), used for every value a flat store writes.

    Floats use Go's ``'G'`` shortest form with ``.0`` forced when the text would read as an
    integer; booleans ``true``/``false``; times RFC 3339 without fractional seconds; anything
    else Go's ``%v``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = go_format_float(value, "G")
        if "." not in text and "E" not in text:
            text = go_format_float(value, "f", 1)
        return text
    if isinstance(value, _dt.datetime):
        return format_time(with_nanoseconds(value, 0))  # Go's RFC3339 layout: no fraction
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"  # Go's %v of a []byte
    if value is None:
        return "<nil>"  # Go's %v of a nil interface
    raise TypeError(f"cannot write a value of type {type(value).__name__} as text")
