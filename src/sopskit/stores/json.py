"""The JSON store, byte-exact with sops 3.13.2 (``stores/json/store.go``).

Reading keeps key order and duplicate keys (each is its own entry, as sops's token decoder
does), turns integers that fit in int64 into ``int`` and every other number into ``float``
(the 3.13.2 rule; earlier versions made every number a float), and replaces invalid UTF-8 and
lone surrogate escapes with U+FFFD like Go's ``encoding/json``.

Writing reproduces ``json.Marshal`` for scalars (``<``, ``>``, ``&``, U+2028 and U+2029 escaped,
other non-ASCII raw, ES6-style floats) re-indented like Go's ``json.Indent`` with ``": "``
after keys, plus a trailing newline. Comments do not exist in JSON and are dropped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json as _stdjson
import math
import re
from typing import Any

from sopskit.errors import EmitError, FormatError, LimitError, MetadataNotFoundError, ParseError, UsageError
from sopskit.format.codec import format_go_float, format_time, go_format_float
from sopskit.format.tree import Comment, TreeMap, Value
from sopskit.stores.limits import check_size, check_tree, ensure_recursion_headroom
from sopskit.stores.limits import current as current_limits

SOPS_KEY = "sops"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_NEEDS_ESCAPE_RE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\b": "\\b", "\f": "\\f"}


# -- reading -----------------------------------------------------------------------------------

def _number(literal: str) -> int | float:
    """3.13.2's ``UseNumber`` rule: int64 when the literal is an integer that fits, else float."""
    if "." not in literal and "e" not in literal and "E" not in literal:
        value = int(literal)
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
    result = float(literal)
    if math.isinf(result):
        raise ValueError("number out of range")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _clean_string(text: str) -> str:
    return _SURROGATE_RE.sub("\ufffd", text) if _SURROGATE_RE.search(text) else text


def _build_map(pairs: list[tuple[str, Any]]) -> TreeMap:
    return TreeMap([(_clean_string(k), v) for k, v in pairs])


def _clean_strings(value: Any) -> Any:
    """Replace lone surrogates (from ``\\ud800``-style escapes) the way Go does."""
    if isinstance(value, str):
        return _clean_string(value)
    if isinstance(value, list):
        return [_clean_strings(v) for v in value]
    if isinstance(value, TreeMap):
        for i, (k, v) in enumerate(value.entries):
            if isinstance(v, (str, list, TreeMap)):
                value.entries[i] = (k, _clean_strings(v))
        return value
    return value


_DECODER = _stdjson.JSONDecoder(
    object_pairs_hook=_build_map, parse_int=_number, parse_float=_number,
    parse_constant=_reject_constant,
)


def _decode_text(data: bytes) -> str:
    """Bytes to text with every invalid UTF-8 byte as U+FFFD, one per byte like Go."""
    text = data.decode("utf-8", "surrogateescape")
    return _SURROGATE_RE.sub("\ufffd", text) if _SURROGATE_RE.search(text) else text


def _raw_decode(text: str, start: int, max_depth: int) -> tuple[Any, int]:
    """The C decoder recurses; a document deeper than the default recursion limit allows
    is decoded again with room for the documented maximum depth (stores.limits)."""
    try:
        return _DECODER.raw_decode(text, start)
    except RecursionError:
        ensure_recursion_headroom(max_depth)
        try:
            return _DECODER.raw_decode(text, start)
        except RecursionError:
            raise LimitError(f"invalid JSON: the document is nested deeper than the limit of {max_depth}",
                             hint="if the file is genuine, raise SOPSKIT_MAX_DEPTH (see docs/limits.md)") from None


def parse_json_object(data: bytes, *, whole: bool) -> TreeMap:
    """Parse a JSON document whose top level must be an object.

    ``whole`` requires nothing but whitespace after the object (what ``json.Unmarshal``
    checks when sops reads an encrypted file); without it trailing data is ignored, as sops's
    token decoder does for plaintext. Errors are one line with the position, never a value.
    """
    limits = current_limits()
    check_size(data, limits)
    text = _decode_text(data)
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise ParseError("invalid JSON: the input is empty")
    if text[start] != "{":
        raise ParseError(
            "SOPS only supports JSON files whose top level is an object (starting with '{'); "
            "wrap other values in an object, e.g. {\"data\": [...]}"
        )
    try:
        value, end = _raw_decode(text, start, limits.max_depth)
    except _stdjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ParseError("invalid JSON: the document is nested too deeply") from None
    if whole and text[end:].strip(" \t\r\n"):
        line = text.count("\n", 0, end) + 1
        column = end - (text.rfind("\n", 0, end) + 1) + 1
        raise ParseError(f"invalid JSON at line {line} column {column}: extra data after the object")
    assert isinstance(value, TreeMap)
    check_tree([value], limits)
    result = _clean_strings(value)
    assert isinstance(result, TreeMap)
    return result


# -- writing -----------------------------------------------------------------------------------

def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:  # an invalid UTF-8 byte or lone surrogate: Go writes U+FFFD
        return "\\ufffd"
    return f"\\u{code:04x}"


def marshal_string(text: str) -> str:
    """Go ``json.Marshal`` of a string (HTML-safe escaping, lower-case hex)."""
    return '"' + _NEEDS_ESCAPE_RE.sub(_escape_char, text) + '"'


def marshal_float(value: float) -> str:
    """Go ``json.Marshal`` of a float64: ES6 number form (``1e+21``, ``1e-7``, ``0.000001``)."""
    if math.isnan(value) or math.isinf(value):
        raise EmitError("JSON cannot hold NaN or infinite numbers")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = go_format_float(value, "e")
        if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
            text = text[:-2] + text[-1]
        return text
    return format_go_float(value)


def marshal_scalar(value: Value) -> str:
    """One leaf as ``json.Marshal`` writes it."""
    if isinstance(value, str):
        return marshal_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return marshal_float(value)
    if value is None:
        return "null"
    if isinstance(value, _dt.datetime):
        return marshal_string(format_time(value))
    if isinstance(value, bytes):
        return marshal_string(base64.b64encode(value).decode("ascii"))
    raise EmitError(f"cannot write a value of type {type(value).__name__} as JSON")


def _plain_to_tree(value: Any) -> Value:
    """Metadata arrives as plain dicts; give them the tree's shape for the writer."""
    if isinstance(value, dict):
        return TreeMap([(str(k), _plain_to_tree(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return [_plain_to_tree(v) for v in value]
    return value  # type: ignore[no-any-return]


class _Writer:
    """Go's compact encoding followed by ``json.Indent``, done in one pass."""

    def __init__(self, indent: str) -> None:
        self._indent = indent
        self._parts: list[str] = []

    def text(self) -> str:
        return "".join(self._parts)

    def value(self, value: Value, depth: int) -> None:
        if isinstance(value, TreeMap):
            self._map(value, depth)
        elif isinstance(value, list):
            self._list(value, depth)
        elif isinstance(value, Comment):
            raise EmitError("a comment cannot be written as a JSON value")
        else:
            self._parts.append(marshal_scalar(value))

    def _newline(self, depth: int) -> None:
        self._parts.append("\n" + self._indent * depth)

    def _map(self, node: TreeMap, depth: int) -> None:
        items = [(k, v) for k, v in node.entries if isinstance(k, str)]
        if not items:
            self._parts.append("{}")
            return
        self._parts.append("{")
        for i, (key, child) in enumerate(items):
            if i:
                self._parts.append(",")
            self._newline(depth + 1)
            self._parts.append(marshal_string(key) + ": ")
            self.value(child, depth + 1)
        self._newline(depth)
        self._parts.append("}")

    def _list(self, node: list[Value], depth: int) -> None:
        items = [v for v in node if not isinstance(v, Comment)]
        if not items:
            self._parts.append("[]")
            return
        self._parts.append("[")
        for i, child in enumerate(items):
            if i:
                self._parts.append(",")
            self._newline(depth + 1)
            self.value(child, depth + 1)
        self._newline(depth)
        self._parts.append("]")


def indent_string(indent: int) -> str:
    """sops's JSON indent setting: -1 = a tab, N >= 0 = N spaces; below -1 is refused."""
    if indent < -1:
        raise UsageError("JSON indentation smaller than -1 is not accepted")
    return "\t" if indent == -1 else " " * indent


def encode_json(value: Value, *, indent: str) -> str:
    """Write one value as sops's JSON store does (no trailing newline)."""
    writer = _Writer(indent)
    writer.value(value, 0)
    return writer.text()


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_sops_metadata(branch: TreeMap) -> tuple[TreeMap, dict[str, Any]]:
    """Remove every top-level ``sops`` entry; return the data and the last one as plain data."""
    found: Value = None
    has = False
    data = TreeMap()
    for key, value in branch.entries:
        if key == SOPS_KEY and isinstance(key, str):
            found, has = value, True
        else:
            data.entries.append((key, value))
    if not has or found is None:
        raise MetadataNotFoundError("sops metadata not found: the file has no top-level 'sops' key")
    if not isinstance(found, TreeMap):
        raise FormatError("sops metadata is not an object")
    plain = _tree_to_plain(found)
    assert isinstance(plain, dict)
    return data, plain


def _tree_to_plain(value: Value) -> Any:
    if isinstance(value, TreeMap):
        out: dict[str, Any] = {}
        for k, v in value.entries:
            if isinstance(k, str):
                out[k] = _tree_to_plain(v)
        return out
    if isinstance(value, list):
        return [_tree_to_plain(v) for v in value]
    return value


class JsonStore:
    """sops's JSON store: one branch, ``"sops"`` object after the data keys."""

    name = "json"

    def __init__(self, indent: int = -1) -> None:
        self._indent = indent_string(indent)

    def load_plain(self, data: bytes) -> list[TreeMap]:
        return [parse_json_object(data, whole=False)]

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        branch, metadata = split_sops_metadata(parse_json_object(data, whole=True))
        return [branch], metadata

    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        if not branches:
            raise EmitError("there is no document to write as JSON")
        return _to_bytes(encode_json(branches[0], indent=self._indent) + "\n")

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        if not branches:
            raise EmitError("there is no document to write as JSON")
        tree = TreeMap([*branches[0].entries, (SOPS_KEY, _plain_to_tree(metadata))])
        return _to_bytes(encode_json(tree, indent=self._indent) + "\n")

    def emit_value(self, value: Value) -> bytes:
        return _to_bytes(encode_json(value, indent=self._indent))

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        return SOPS_KEY in branch
