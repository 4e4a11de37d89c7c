"""The INI store, byte-exact with sops 3.13.2 (``stores/ini/store.go`` over go-ini v1).

A file is a list of sections; each becomes a top-level entry whose value is a branch, with the
implicit ``DEFAULT`` section (keys before any header) always first. Values are strings.

Reading follows go-ini's parser with sops's options: keys end at the first ``=`` or ``:`` and
are trimmed; values are trimmed; in an unquoted value a ``#`` or ``;`` starts an inline comment;
a surrounding pair of ``"`` or ``'`` is removed; a value may be quoted with backticks or
``\"\"\"`` (both may span lines); a trailing ``\\`` joins the next line; a repeated key keeps its
first position and takes the last value; a repeated section header starts a new section.
A comment block before a header is the section's comment (first item of its branch); comments
before a key (and the key's inline comment) become one comment item placed *after* the key.

Writing follows go-ini's writer as sops drives it: sections by name in first-seen order (a
repeated name is merged, ``DEFAULT`` is the implicit first section and has no header), keys
padded to the section's longest key, `` = ``, the value quoted when it must be, ``; `` comment
lines, one blank line between sections.

Metadata is the ``[sops]`` section with flattened keys. Newlines in its values are written as
``\\n`` (sops <= 3.12 and >= 3.13.2); the real multi-line ``\"\"\"`` values written by 3.13.0 and
3.13.1 are read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sopskit.errors import EmitError, MetadataNotFoundError, ParseError
from sopskit.format.tree import Comment, TreeMap, Value
from sopskit.stores.flatten import (
    escape_newlines,
    flatten_metadata,
    unescape_newlines,
    unflatten_metadata,
    value_to_text,
)
from sopskit.stores.json import marshal_scalar
from sopskit.stores.limits import check_size

DEFAULT_SECTION = "DEFAULT"
SOPS_SECTION = "sops"

#: Go's ``unicode.IsSpace``: ASCII whitespace, NEL, NBSP and the Z categories.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_KEY_DELIMITERS = "=:"


def _trim(text: str) -> str:
    return text.strip(_GO_SPACE)


def _index_any(text: str, chars: str) -> int:
    positions = [i for i in (text.find(c) for c in chars) if i >= 0]
    return min(positions) if positions else -1


# -- the parsed file model -----------------------------------------------------------------------

@dataclass
class _Key:
    value: str
    comment: str = ""


@dataclass
class _Section:
    name: str
    comment: str = ""
    keys: dict[str, _Key] = field(default_factory=dict)


# -- reading -----------------------------------------------------------------------------------

class _Parser:
    """go-ini's line parser, for the options sops uses."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")
        # every line but the last ends with "\n", as bufio.ReadBytes('\n') returns them
        self._lines = [line + "\n" for line in self._lines[:-1]] + [self._lines[-1]]
        self._next = 0
        self._comment: list[str] = []
        self._line_number = 0

    def _read_line(self) -> str | None:
        if self._next >= len(self._lines):
            return None
        line = self._lines[self._next]
        self._next += 1
        self._line_number = self._next
        return line

    def _at_end(self) -> bool:
        return self._next >= len(self._lines)

    def _error(self, what: str) -> ParseError:
        return ParseError(f"invalid INI at line {self._line_number}: {what}")

    def _take_comment(self) -> str:
        text = _trim("".join(self._comment))
        self._comment.clear()
        return text

    def parse(self) -> list[_Section]:
        current = _Section(DEFAULT_SECTION)
        sections = [current]
        counter = 1
        while (raw := self._read_line()) is not None:
            line = raw.lstrip(_GO_SPACE)
            if not line:
                continue
            if line[0] in "#;":
                self._comment.append(line)
                continue
            if line[0] == "[":
                close = line.rfind("]")
                if close == -1:
                    raise self._error("unclosed section header")
                name = line[1:close]
                if not name:
                    raise self._error("empty section name")
                rest = line[close + 1:]
                inline = _index_any(rest, "#;")
                if inline >= 0:
                    self._comment.append(rest[inline:])
                current = _Section(name, self._take_comment())
                sections.append(current)
                counter = 1
                continue
            name, offset = self._key_name(line)
            if name == "-":
                name = f"#{counter}"
                counter += 1
            if not name:
                raise self._error("empty key name")
            value = self._value(line[offset:])
            entry = current.keys.get(name)
            if entry is None:
                current.keys[name] = _Key(value, self._take_comment())
            else:
                entry.value, entry.comment = value, self._take_comment()
        return sections

    def _key_name(self, line: str) -> tuple[str, int]:
        quote = ""
        if line.startswith('"'):
            quote = '"""' if len(line) > 6 and line.startswith('"""') else '"'
        elif line.startswith("`"):
            quote = "`"
        if quote:
            start = len(quote)
            close = line.find(quote, start)
            if close == -1:
                raise self._error("missing closing key quote")
            delimiter = _index_any(line[close + start:], _KEY_DELIMITERS)
            if delimiter < 0:
                raise self._error("key-value delimiter not found")
            return _trim(line[start:close]), close + delimiter + start + 1
        delimiter = _index_any(line, _KEY_DELIMITERS)
        if delimiter < 0:
            raise self._error("key-value delimiter not found")
        return _trim(line[:delimiter]), delimiter + 1

    def _value(self, raw: str) -> str:
        line = raw.lstrip(_GO_SPACE)
        if not line:
            return ""
        quote = ""
        if len(line) > 3 and line.startswith('"""'):
            quote = '"""'
        elif line.startswith("`"):
            quote = "`"
        if quote:
            start = len(quote)
            close = line.rfind(quote, start)
            if close == -1:
                return self._multiline(line[start:], quote)
            return line[start:close]
        line = _trim(line)
        if line.endswith("\\"):
            return self._continuation(line[:-1])
        inline = _index_any(line, "#;")
        if inline > -1:
            self._comment.append(line[inline:])
            line = _trim(line[:inline])
        for quote_char in "'\"":
            if len(line) >= 2 and line[0] == quote_char and line[-1] == quote_char \
                    and line.find(quote_char, 1) == len(line) - 1:
                return line[1:-1]
        return line

    def _multiline(self, value: str, quote: str) -> str:
        parts = [value]
        while True:
            following = self._read_line()
            if following is None:
                raise self._error("missing closing value quote")
            close = following.rfind(quote)
            if close > -1:
                parts.append(following[:close])
                inline = _index_any(following[close:], "#;")
                if inline >= 0:
                    self._comment.append(_trim(following[close + inline:]))
                return "".join(parts)
            parts.append(following)
            if self._at_end():
                raise self._error("missing closing value quote")

    def _continuation(self, value: str) -> str:
        while True:
            following = self._read_line()
            if following is None:
                return value
            following = _trim(following)
            if not following:
                return value
            value += following
            if not value.endswith("\\"):
                return value
            value = value[:-1]


def _strip_comment_char(comment: str) -> str:
    """sops's ``stripCommentChar``: drop the leading ``;``/``#`` and spaces of the first line."""
    if comment.startswith(";"):
        return comment.lstrip("; ")
    if comment.startswith("#"):
        return comment.lstrip("# ")
    return comment


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        data = data[2:]
    return data.decode("utf-8", "surrogateescape")


def parse_ini(data: bytes) -> list[tuple[str, TreeMap]]:
    """Parse INI bytes into (section name, branch) pairs, ``DEFAULT`` first."""
    check_size(data)
    out: list[tuple[str, TreeMap]] = []
    for section in _Parser(_decode(data)).parse():
        branch = TreeMap()
        if section.comment:
            branch.entries.append((Comment(_strip_comment_char(section.comment)), None))
        for name, key in section.keys.items():
            branch.entries.append((name, key.value))
            if key.comment:
                branch.entries.append((Comment(_strip_comment_char(key.comment)), None))
        out.append((section.name, branch))
    return out


# -- writing -----------------------------------------------------------------------------------

def _build_sections(entries: list[tuple[Any, Value]]) -> list[_Section]:
    sections: dict[str, _Section] = {DEFAULT_SECTION: _Section(DEFAULT_SECTION)}
    for name, body in entries:
        if isinstance(name, Comment):
            continue
        if not name:
            raise EmitError("cannot write an INI section with an empty name")
        if not isinstance(body, TreeMap):
            raise EmitError(f"cannot write INI: the value of section {name!r} is not a mapping")
        section = sections.setdefault(name, _Section(name))
        items = body.entries
        first = 0
        if items and isinstance(items[0][0], Comment):
            section.comment = items[0][0].text
            first = 1
        last: _Key | None = None
        for key, value in items[first:]:
            if isinstance(key, Comment):
                if last is not None:
                    last.comment = key.text
                continue
            if not key:
                raise EmitError(f"cannot write INI: section {name!r} has an empty key name")
            if isinstance(value, (TreeMap, list)):
                raise EmitError(f"cannot write INI: key {key!r} in section {name!r} holds a nested value")
            try:
                text = value_to_text(value)
            except TypeError as exc:
                raise EmitError(f"cannot write INI: key {key!r} in section {name!r}: {exc}") from None
            last = section.keys.get(key)
            if last is None:
                last = section.keys[key] = _Key(text)
            else:
                last.value = text
    return list(sections.values())


def _quote_key(name: str) -> str:
    if '"' in name or _index_any(name, _KEY_DELIMITERS) >= 0:
        return f"`{name}`"
    if "`" in name:
        return f'"""{name}"""'
    return name


def _quote_value(value: str) -> str:
    if "\n" in value or "`" in value:
        return f'"""{value}"""'
    if "#" in value or ";" in value:
        return f"`{value}`"
    if _trim(value) != value:
        return f'"{value}"'
    return value


def _comment_lines(comment: str, *, trim_plain: bool) -> str:
    lines = []
    for line in comment.split("\n"):
        if line[:1] in ("#", ";"):
            lines.append(f"{line[0]} {_trim(line[1:])}\n")
        else:
            lines.append(f"; {_trim(line) if trim_plain else line}\n")
    return "".join(lines)


def _write_section(section: _Section, *, first: bool) -> str | None:
    parts: list[str] = []
    if section.comment:
        parts.append(_comment_lines(section.comment, trim_plain=False))
    if not first or section.name.upper() != DEFAULT_SECTION:
        parts.append(f"[{section.name}]\n")
    elif not section.keys:
        return None
    width = max((len(_quote_key(k)) for k in section.keys), default=0)
    for name, key in section.keys.items():
        if key.comment:
            parts.append(_comment_lines(key.comment, trim_plain=True))
        quoted = _quote_key(name)
        parts.append(f"{quoted}{' ' * (width - len(quoted))} = {_quote_value(key.value)}\n")
    return "".join(parts)


def write_ini(entries: list[tuple[Any, Value]]) -> bytes:
    """Write top-level section entries as go-ini does for sops."""
    chunks = []
    for index, section in enumerate(_build_sections(entries)):
        chunk = _write_section(section, first=index == 0)
        if chunk is not None:
            chunks.append(chunk)
    return "\n".join(chunks).encode("utf-8", "surrogateescape")


def _go_marshal(value: Value) -> str:
    """Go ``json.Marshal`` of a value as sops's INI ``EmitValue`` sees it (compact)."""
    if isinstance(value, TreeMap):
        items = []
        for key, child in value.entries:
            key_json = (
                f'{{"Value":{marshal_scalar(key.text)},"Inline":{"true" if key.inline else "false"}}}'
                if isinstance(key, Comment) else marshal_scalar(key)
            )
            items.append(f'{{"Key":{key_json},"Value":{_go_marshal(child)}}}')
        return "[" + ",".join(items) + "]"
    if isinstance(value, list):
        return "[" + ",".join(_go_marshal(v) for v in value) + "]"
    if isinstance(value, Comment):
        return f'{{"Value":{marshal_scalar(value.text)},"Inline":{"true" if value.inline else "false"}}}'
    return marshal_scalar(value)


class IniStore:
    """sops's INI store: sections as top-level entries, metadata in ``[sops]``."""

    name = "ini"

    def __init__(self, indent: int | None = None) -> None:
        """``indent`` is accepted because the registry passes it to every store; unused."""

    def load_plain(self, data: bytes) -> list[TreeMap]:
        return [TreeMap([(name, body) for name, body in parse_ini(data)])]

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        sections = parse_ini(data)
        metadata: TreeMap | None = None
        body = TreeMap()
        for name, branch in sections:
            if name == SOPS_SECTION:
                if metadata is None:
                    metadata = branch
            else:
                body.entries.append((name, branch))
        if metadata is None:
            raise MetadataNotFoundError("sops metadata not found: the file has no [sops] section")
        flat = [(key, unescape_newlines(value)) for key, value in metadata.items()
                if isinstance(value, str)]
        return [body], unflatten_metadata(flat)

    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        return write_ini([entry for branch in branches for entry in branch.entries])

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        flat = TreeMap([(key, escape_newlines(text)) for key, text in flatten_metadata(metadata)])
        entries = [entry for branch in branches for entry in branch.entries]
        return write_ini([*entries, (SOPS_SECTION, flat)])

    def emit_value(self, value: Value) -> bytes:
        return _go_marshal(value).encode("utf-8", "surrogateescape")

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        return SOPS_SECTION in branch

