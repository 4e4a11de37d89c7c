"""``set`` and ``unset`` on decrypted trees, with sops's semantics.

Why a module of its own: the rules are sops's and not obvious. ``set`` parses its value as
JSON; a scalar goes through Go's ``encoding/json`` so every number becomes a float (``5`` is
stored ``type:float``), while objects and arrays go through the JSON store, which since
3.13.2 keeps integers as ``int``. Missing path components are created, and an index past the
end of a list appends. ``unset`` of a missing path is an error unless the caller says the
operation is idempotent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from sopskit.errors import NoFileSpecifiedError, PathNotFoundError, SetFormatError
from sopskit.format.tree import TreeMap, Value, deep_copy
from sopskit.keys.base import KeyContext
from sopskit.ops.document import DEFAULT_DECRYPTION_ORDER, emit_encrypted, seal
from sopskit.ops.treepath import PathPart, parse_set_path

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _container_number(literal: str) -> int | float:
    if "." not in literal and "e" not in literal and "E" not in literal:
        value = int(literal)
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
    return _scalar_number(literal)


def _scalar_number(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def _to_tree(value: Any) -> Value:
    if isinstance(value, TreeMap):
        return value
    if isinstance(value, list):
        return [_to_tree(v) for v in value]
    return value  # type: ignore[no-any-return]


def parse_set_value(text: str) -> Value:
    """The tree value for ``set``'s JSON argument; raises :class:`SetFormatError`.

    The message never quotes the text: it is usually a secret.
    """
    stripped = text.strip()
    container = stripped.startswith(("{", "["))
    try:
        parsed = json.loads(
            stripped,
            object_pairs_hook=lambda pairs: TreeMap([(k, _to_tree(v)) for k, v in pairs]),
            parse_int=_container_number if container else _scalar_number,
            parse_float=_container_number if container else _scalar_number,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise SetFormatError(
            f"the value is not valid JSON{where}",
            hint='strings need JSON quotes: sopskit set FILE \'["key"]\' \'"text"\'',
        ) from None
    return _to_tree(parsed)


def _describe(path: Sequence[PathPart], upto: int) -> str:
    return "".join(f'["{p}"]' if isinstance(p, str) else f"[{p}]" for p in path[: upto + 1])


def _new_container(next_part: PathPart) -> Value:
    return TreeMap() if isinstance(next_part, str) else []


def set_value(root: TreeMap, path: Sequence[PathPart], value: Value) -> bool:
    """Set ``value`` at ``path`` in place, creating what is missing; True if anything changed.

    Like sops, a component whose parent has the wrong type replaces that parent (setting
    ``["a"]["b"]`` when ``a`` is a string turns ``a`` into a mapping).
    """
    if not path:
        raise SetFormatError("set needs a non-empty tree path such as '[\"key\"]'")
    if not isinstance(path[0], str):
        raise SetFormatError("the first component of the path must be a key, not an index")
    node: Value = root
    parent_set: Any = None  # callable that replaces ``node`` in its parent
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(part, str):
            if not isinstance(node, TreeMap):
                replacement = TreeMap()
                parent_set(replacement)
                node = replacement
            mapping = node
            if last:
                if part in mapping and mapping[part] == value and type(mapping[part]) is type(value):
                    return False
                mapping[part] = value
                return True
            if part not in mapping:
                mapping[part] = _new_container(path[depth + 1])
            parent_set = _setter_map(mapping, part)
            node = mapping[part]
        else:
            if not isinstance(node, list):
                replacement_list: list[Value] = []
                parent_set(replacement_list)
                node = replacement_list
            sequence = node
            if part < 0:
                raise SetFormatError(f"negative index in {_describe(path, depth)}")
            if part >= len(sequence):
                sequence.append(value if last else _new_container(path[depth + 1]))
                if last:
                    return True
                index = len(sequence) - 1
            else:
                index = part
                if last:
                    current = sequence[index]
                    if current == value and type(current) is type(value):
                        return False
                    sequence[index] = value
                    return True
            parent_set = _setter_list(sequence, index)
            node = sequence[index]
    return True  # pragma: no cover - the loop always returns on the last component


def _setter_map(mapping: TreeMap, key: str) -> Any:
    def put(value: Value) -> None:
        mapping[key] = value

    return put


def _setter_list(sequence: list[Value], index: int) -> Any:
    def put(value: Value) -> None:
        sequence[index] = value

    return put


def unset_value(root: TreeMap, path: Sequence[PathPart]) -> None:
    """Remove the key or list element at ``path``; raise :class:`PathNotFoundError`."""
    if not path:
        raise SetFormatError("unset needs a non-empty tree path such as '[\"key\"]'")
    node: Value = root
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        shown = _describe(path, depth)
        if isinstance(part, str):
            if not isinstance(node, TreeMap) or part not in node:
                raise PathNotFoundError(f"the path {shown} does not exist in the file",
                                        hint="pass --idempotent to accept a missing path")
            if last:
                del node[part]
                return
            node = node[part]
        else:
            if not isinstance(node, list) or not 0 <= part < len(node):
                raise PathNotFoundError(f"the path {shown} does not exist in the file",
                                        hint="pass --idempotent to accept a missing path")
            if last:
                del node[part]
                return
            node = node[part]


def copy_tree(root: TreeMap) -> TreeMap:
    copied = deep_copy(root)
    assert isinstance(copied, TreeMap)
    return copied


__all__ = ["PathNotFoundError", "copy_tree", "parse_set_value", "set_value", "unset_value"]


# -- set / unset on an encrypted file -------------------------------------------------------

Source = bytes | Callable[[], bytes]


def mutate_encrypted(
    source: Source,
    change: Callable[[TreeMap], bool],
    *,
    input_format: str,
    output_format: str | None = None,
    context: KeyContext | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    ignore_mac: bool = False,
    idempotent: bool = False,
    indent: int | None = None,
    name: str = "the file",
) -> bytes | None:
    """Open an encrypted file, apply ``change(root) -> changed`` to its first document and
    re-seal it with the same data key (only touched values get new ciphertext).

    ``source`` is the file's bytes, or a function that reads them (called once the request
    is known to be valid, so a bad path or value is reported before a missing file).
    Returns the new file bytes, or None when ``idempotent`` and nothing changed.
    """
    from sopskit.ops.decrypt import make_context, open_bytes
    from sopskit.stores import get_store

    data = source() if callable(source) else source
    opened = open_bytes(data, input_format=input_format, context=context or make_context(),
                        decryption_order=decryption_order, ignore_mac=ignore_mac)
    if not opened.branches:
        raise NoFileSpecifiedError(f"{name}: the file has no document")
    changed = change(opened.branches[0])
    if not changed and idempotent:
        return None
    seal(opened)
    return emit_encrypted(opened, get_store(output_format or input_format, indent=indent))


def set_encrypted(source: Source, path_text: str, value_text: str, **options: Any) -> bytes | None:
    """``sopskit set``: the JSON ``value_text`` at the tree path ``path_text``."""
    tree_path = parse_set_path(path_text)
    value = parse_set_value(value_text)
    return mutate_encrypted(source, lambda root: set_value(root, tree_path, value), **options)


def unset_encrypted(source: Source, path_text: str, **options: Any) -> bytes | None:
    """``sopskit unset``: remove the key or list item at ``path_text``; a missing path is
    an error unless ``idempotent=True`` (then None: nothing to write)."""
    tree_path = parse_set_path(path_text)
    idempotent = bool(options.get("idempotent", False))

    def change(root: TreeMap) -> bool:
        try:
            unset_value(root, tree_path)
        except PathNotFoundError:
            if idempotent:
                return False
            raise
        return True

    return mutate_encrypted(source, change, **options)
