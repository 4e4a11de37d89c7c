"""Branches -> YAML text exactly as sops 3.13 writes them through yaml.v3's emitter.

A direct writer rather than an event state machine: sops only ever emits block mappings and
block sequences (empty ones as ``{}`` / ``[]``) of scalars, so the parts of yaml.v3's
``emitterc.go`` that matter are the indentation rule (``increase_indent``), the scalar style
choice (``stringv`` + ``select_scalar_style`` + ``analyze_scalar``), the three scalar writers
and comment placement (head, line, foot/tail). Unlimited width: nothing is ever folded.
"""

from __future__ import annotations

import base64
import datetime as _dt
import re

from sopskit.errors import EmitError
from sopskit.format.codec import format_time, go_format_float
from sopskit.format.tree import Comment, TreeMap, Value
from sopskit.stores._yaml_resolve import resolves_to_str

# A string matching this is plain-allowed in block context with no further analysis.
_FAST_PLAIN = re.compile(r"[A-Za-z0-9_(/+=<^~$;][\x21-\x7e]*(?<!:)\Z")
_BREAKS = "\r\n\x85\u2028\u2029"
_FIRST_INDICATORS = set("#,[]{}&*!|>'\"%@`")
_ESCAPES = {
    0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f",
    0x0D: "r", 0x1B: "e", 0x22: '"', 0x5C: "\\", 0x85: "N", 0xA0: "_", 0x2028: "L", 0x2029: "P",
}


def _printable(cp: int) -> bool:
    return (
        cp == 0x0A or 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xD7FF
        or (0xE000 <= cp <= 0xFFFD and cp != 0xFEFF)
    )


def _analyze(value: str) -> tuple[bool, bool, bool, bool]:
    """yaml.v3 ``analyze_scalar`` for block context: (multiline, plain, single, block) allowed."""
    if not value:
        return False, True, True, False
    block_ind = value.startswith(("---", "...")) and len(value) >= 3
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = prev_space = prev_break = False
    preceded_ws = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_ws = i + 1 >= n or value[i + 1] in " \t"
        if i == 0:
            if ch in _FIRST_INDICATORS or (ch in "?:-" and followed_ws):
                block_ind = True
        elif (ch == ":" and followed_ws) or (ch == "#" and preceded_ws):
            block_ind = True
        cp = ord(ch)
        if ch == "\t":
            tabs = True
        elif not _printable(cp):
            special = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = ch in " \t" or ch in _BREAKS
    plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        plain = False
    if trailing_space:
        block = False
    if break_space:
        plain = single = False
    if space_break or tabs or special:
        plain = single = False
    if space_break or special:
        block = False
    if line_breaks or block_ind:
        plain = False
    return line_breaks, plain, single, block


def _double_quoted(value: str) -> str:
    # yaml.v3's ``is_bom`` looks at the start of the whole value, not at the current
    # character, so a value that starts with U+FEFF has *every* character escaped.
    escape_all = value.startswith("\ufeff")
    out = ['"']
    for ch in value:
        cp = ord(ch)
        if escape_all or not _printable(cp) or cp == 0xFEFF or ch in _BREAKS or ch in '"\\':
            esc = _ESCAPES.get(cp)
            if esc is not None:
                out.append("\\" + esc)
            elif cp <= 0xFF:
                out.append(f"\\x{cp:02X}")
            elif cp <= 0xFFFF:
                out.append(f"\\u{cp:04X}")
            else:
                out.append(f"\\U{cp:08X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _single_quoted(value: str, indent: int) -> str:
    """yaml.v3 ``write_single_quoted_scalar`` with unlimited width.

    Only U+2028/U+2029 can be line breaks here (a newline forces a block or double quotes,
    other breaks are not printable). After such a break yaml.v3 writes the raw character and
    then, before the next non-space character, indents to the scalar's indentation; if the
    spaces already written reach that column it starts a new line first (``write_indent``).
    """
    out = ["'"]
    column = 0
    breaks = indention = whitespace = False
    for ch in value:
        if ch == " ":
            out.append(ch)
            column += 1
        elif ch in _BREAKS:
            out.append(ch)
            column, breaks, indention = 0, True, True
        else:
            if breaks:
                if not indention or column > indent or (column == indent and not whitespace):
                    out.append("\n")
                    column = 0
                out.append(" " * (indent - column))
                column = max(column, indent)
                whitespace = indention = True
            out.append("''" if ch == "'" else ch)
            column += 2 if ch == "'" else 1
            indention = breaks = False
    out.append("'")
    return "".join(out)


_LITERAL_BREAKS = "\n\u2028\u2029"


def _is_valid_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Writer:
    """Output with yaml.v3's column bookkeeping for the few state bits that shape layout."""

    __slots__ = ("best", "parts")

    def __init__(self, best_indent: int) -> None:
        self.best = best_indent
        self.parts: list[str] = []

    def next_indent(self, indent: int) -> int:
        b = self.best
        return b * ((indent + b) // b)

    # -- scalars ---------------------------------------------------------------------------
    def scalar_text(self, value: Value, *, key: bool, indent: int = 0) -> tuple[str, str | None]:
        """(inline text, literal body or None) for a scalar in key or value position.

        ``indent`` is the scalar's own indentation (yaml.v3 ``increase_indent`` for the
        scalar), used only where a scalar continues on a new line.
        """
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        if isinstance(value, int):
            return str(value), None
        if isinstance(value, float):
            return go_format_float(value, "g", specials=(".nan", ".inf", "-.inf")), None  # yaml.v3 spellings
        if value is None:
            return "null", None
        if isinstance(value, _dt.datetime):
            return format_time(value), None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "surrogateescape")
        if isinstance(value, Comment):
            raise EmitError("a comment cannot be written as a YAML value")
        if not isinstance(value, str):
            raise EmitError(f"cannot write a value of type {type(value).__name__} as YAML")
        if not _is_valid_utf8(value):
            raw = value.encode("utf-8", "surrogateescape")
            return "!!binary " + base64.b64encode(raw).decode("ascii"), None
        if value == "<<":
            # yaml.v3 encodes "<<" plain, then re-parses it as a merge key (tag !!merge),
            # so sops always writes the explicit tag, key or value
            return "!!merge <<", None
        if _FAST_PLAIN.match(value):
            if resolves_to_str(value):
                return value, None
            return _double_quoted(value), None
        multiline, plain_ok, single_ok, block_ok = _analyze(value)
        if "\n" in value:
            if key or not block_ok:
                return _double_quoted(value), None
            return "|", value
        if resolves_to_str(value):
            if plain_ok:
                return value, None
            if single_ok and not (key and multiline):
                return _single_quoted(value, indent), None
        return _double_quoted(value), None

    def literal(self, body: str, indent: int, line_comment: str | None) -> str:
        """Header, optional line comment and content of a literal block scalar."""
        header = "|"
        if body[:1] == " " or body[:1] in _BREAKS:
            header += str(self.best)
        if not _ends_with_break(body):
            header += "-"
        elif len(body) == 1 or body[-2] in _LITERAL_BREAKS:
            header += "+"
        pieces = [header + (" " + line_comment if line_comment else ""), "\n"]
        pad = " " * indent
        # yaml.v3 write_literal_scalar: every break is written as itself (U+2028/U+2029 raw),
        # and the first character after a break is preceded by the indentation
        breaks = True
        for ch in body:
            if ch in _LITERAL_BREAKS:
                pieces.append(ch)
                breaks = True
            else:
                if breaks:
                    pieces.append(pad)
                pieces.append(ch)
                breaks = False
        return "".join(pieces)


_SIMPLE_KEY_MAX = 128


def _is_simple_key(key: str) -> bool:
    """yaml.v3 ``check_simple_key`` for a scalar key: one line and at most 128 bytes,
    counting a tag the emitter writes (``!!merge``, ``!!binary``) and the written value."""
    if key == "<<":
        return True  # "!!" + "merge" + "<<": 9 bytes
    if not _is_valid_utf8(key):
        raw = key.encode("utf-8", "surrogateescape")
        return len("!!binary") + len(base64.b64encode(raw)) <= _SIMPLE_KEY_MAX
    if any(ch in _BREAKS for ch in key):
        return False
    return len(key.encode("utf-8")) <= _SIMPLE_KEY_MAX


def _ends_with_break(body: str) -> bool:
    """True when text written after this literal body starts on a fresh line."""
    return body[-1:] in tuple(_LITERAL_BREAKS)


def _comment_lines(comments: list[str], indent: int) -> str:
    pad = " " * indent
    return "".join(pad + "#" + c + "\n" for c in comments)


def _split_lead(items: list[Comment]) -> tuple[list[str], list[str]]:
    head = [c.text for c in items if not c.inline]
    line = [c.text for c in items if c.inline]
    return head, line


class Emitter:
    """Write one branch (a document) or a value the way sops's yaml.v3 encoder does."""

    def __init__(self, indent: int) -> None:
        self.w = _Writer(indent)

    # Each writer returns text that starts at the current line position (after "key:" or
    # "- ") and ends with a newline.
    def _value_after_key(self, value: Value, indent: int, line: list[str], out: list[str]) -> None:
        if isinstance(value, TreeMap):
            if not any(isinstance(k, str) for k, _ in value.entries):
                out.append(" {}" + self._line_suffix(line) + "\n")
                lead = [k.text for k, _ in value.entries if isinstance(k, Comment)]
                if lead:
                    out.append(_comment_lines(lead, self.w.next_indent(indent)))
                return
            out.append(self._line_suffix(line) + "\n")
            self._map(value, self.w.next_indent(indent), out)
            return
        if isinstance(value, list):
            if not any(not isinstance(v, Comment) for v in value):
                out.append(" []" + self._line_suffix(line) + "\n")
                lead = [v.text for v in value if isinstance(v, Comment)]
                if lead:
                    out.append(_comment_lines(lead, self.w.next_indent(indent)))
                return
            out.append(self._line_suffix(line) + "\n")
            self._seq(value, self.w.next_indent(indent), out)
            return
        text, body = self.w.scalar_text(value, key=False, indent=self.w.next_indent(indent))
        if body is None:
            out.append(" " + text + self._line_suffix(line, indent) + "\n")
        else:
            out.append(" " + self.w.literal(body, self.w.next_indent(indent), self._joined(line, indent)))
            if not _ends_with_break(body):
                out.append("\n")

    @staticmethod
    def _joined(line: list[str], indent: int) -> str | None:
        if not line:
            return None
        return ("\n" + " " * indent).join("#" + t for t in line)

    def _line_suffix(self, line: list[str], indent: int = 0) -> str:
        joined = self._joined(line, indent)
        return " " + joined if joined else ""

    def _key(self, key: str) -> str:
        text, _ = self.w.scalar_text(key, key=True)
        return text

    def _map(self, node: TreeMap, indent: int, out: list[str], *, first_prefix: str | None = None) -> None:
        pad = " " * indent
        pending: list[Comment] = []
        first = True
        for k, v in node.entries:
            if isinstance(k, Comment):
                pending.append(k)
                continue
            head, line = _split_lead(pending)
            pending = []
            if head:
                if first and first_prefix is not None:
                    # comments of a sequence item's mapping come before the dash
                    out.append(_comment_lines(head, len(first_prefix) - 2))
                else:
                    out.append(_comment_lines(head, indent))
            prefix = first_prefix if (first and first_prefix is not None) else pad
            first = False
            if _is_simple_key(k):
                out.append(prefix + self._key(k) + ":")
                self._value_after_key(v, indent, line, out)
            else:
                self._complex_entry(k, v, indent, prefix, line, out)
        if pending:
            out.append(_comment_lines([c.text for c in pending], indent))

    def _complex_entry(self, key: str, value: Value, indent: int, prefix: str, line: list[str],
                       out: list[str]) -> None:
        """yaml.v3's explicit-key form (``? key`` / ``: value``) for a key that cannot be a
        simple key: longer than 128 bytes or spanning lines. The key gets the full scalar
        style choice (a literal block is allowed here); a block collection value starts on
        the ``:`` line, padded to its indentation, because ``:`` counts as indentation."""
        inner = self.w.next_indent(indent)
        text, body = self.w.scalar_text(key, key=False, indent=inner)
        if body is None:
            out.append(prefix + "? " + text + "\n")
        else:
            out.append(prefix + "? " + self.w.literal(body, inner, None))
            if not _ends_with_break(body):
                out.append("\n")
        tail: list[str] = []
        self._value_after_key(value, indent, line, tail)
        joined = "".join(tail)
        lead = "\n" + " " * inner
        if joined.startswith(lead) and not joined[len(lead):].startswith("#"):
            joined = " " * (inner - indent - 1) + joined[len(lead):]
        out.append(" " * indent + ":" + joined)

    def _seq(self, node: list[Value], indent: int, out: list[str]) -> None:
        pending: list[Comment] = []
        for v in node:
            if isinstance(v, Comment):
                pending.append(v)
                continue
            head, line = _split_lead(pending)
            pending = []
            if isinstance(v, (TreeMap, list)) and line:
                head, line = head + line, []
            if head:
                out.append(_comment_lines(head, indent))
            self._item(v, indent, line, out)
        if pending:
            out.append(_comment_lines([c.text for c in pending], indent))

    def _item(self, v: Value, indent: int, line: list[str], out: list[str]) -> None:
        pad = " " * indent
        inner = indent + 2
        if isinstance(v, TreeMap) and any(isinstance(k, str) for k, _ in v.entries):
            self._map(v, inner, out, first_prefix=pad + "- ")
            return
        if isinstance(v, list) and any(not isinstance(x, Comment) for x in v):
            sub: list[str] = []
            self._seq(v, inner, sub)
            text = "".join(sub)
            # the first dash of the inner sequence goes right after ours
            lead_end = 0
            lines = text.split("\n")
            for i, ln in enumerate(lines):
                if not ln.lstrip().startswith("#"):
                    lead_end = i
                    break
            lines[lead_end] = pad + "- " + lines[lead_end][inner:]
            # comments before the inner first item are written before our dash, at our indent
            for i in range(lead_end):
                lines[i] = pad + lines[i][inner:]
            out.append("\n".join(lines))
            return
        if isinstance(v, TreeMap):
            out.append(pad + "- {}" + self._line_suffix(line) + "\n")
            return
        if isinstance(v, list):
            out.append(pad + "- []" + self._line_suffix(line) + "\n")
            return
        text, body = self.w.scalar_text(v, key=False, indent=inner)
        if body is None:
            out.append(pad + "- " + text + self._line_suffix(line, indent) + "\n")
        else:
            out.append(pad + "- " + self.w.literal(body, inner, self._joined(line, indent)))
            if not _ends_with_break(body):
                out.append("\n")

    # -- public -----------------------------------------------------------------------------
    def document(self, branch: TreeMap) -> str:
        if not any(isinstance(k, str) for k, _ in branch.entries):
            lead = [k.text for k, _ in branch.entries if isinstance(k, Comment)]
            return _comment_lines(lead, 0) + "{}\n"
        out: list[str] = []
        self._map(branch, 0, out)
        return "".join(out)

    def stream(self, branches: list[TreeMap]) -> str:
        docs = [self.document(b) for b in branches]
        # no "..." after a final |+ block: yaml.v3's encoder resets open_ended when it
        # finishes, so sops never writes one (checked against the real sops binary)
        return "---\n".join(docs)

    def value(self, value: Value) -> str:
        if isinstance(value, TreeMap):
            return self.document(value)
        if isinstance(value, list):
            if not any(not isinstance(v, Comment) for v in value):
                return "[]\n"
            out: list[str] = []
            self._seq(value, 0, out)
            return "".join(out)
        text, body = self.w.scalar_text(value, key=False, indent=self.w.best)
        if body is None:
            return text + "\n"
        lit = self.w.literal(body, self.w.best, None)
        return lit if _ends_with_break(body) else lit + "\n"
