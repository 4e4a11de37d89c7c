"""YAML bytes -> branches, following yaml.v3 decoding and sops's comment placement.

Two parsers feed one builder: libyaml (PyYAML's C parser) when the input has no ``#`` byte and
so no comments, ruamel.yaml's pure parser otherwise. Both produce the same event stream with
(line, column) marks; comments are found in the gaps between scalar events and placed by the
rules of yaml.v3's scanner and sops's ``nodeToTreeValue`` (see docs/yaml-store.md):

* a comment after content on the same line is *inline* and goes before the entry it follows;
* own-line comments are split, as yaml.v3 does, into a *foot* part (attached to the content
  above: comments followed by a blank line, or dedented below the current block) and a *head*
  part (attached to the next entry, or to the start of a collection the next entry opens);
* the first foot group right after content, when a dedented token follows it directly or
  a comment line at another column splits it off, belongs to the innermost block that closes
  there (yaml.v3 keeps it tied to the token before it), whatever its column;
* any other foot group at the column of a closing block belongs to that block (a sequence's
  foot lands after the sequence in its parent, as yaml.v3's composer moves it);
* comments under a ``key:`` with no value come after that entry (the value is null).

Duplicate mapping keys are refused where sops refuses them and kept (as separate entries, in
order) everywhere else. sops checks uniqueness only by decoding the *first* document into a Go
value (yaml.v3 refuses a repeated key there; later documents are never checked): a plaintext
is decoded whole (``LoadPlainFile``, sops 3.10+), so any repeated key of document 1 is refused;
an encrypted file is decoded into ``stores.SopsFile`` (``LoadEncryptedFile``, sops 3.x up to 3.12,
the 3.11 binary), which looks only at document 1's top-level keys and its ``sops`` block, so
older files with a repeated key deeper down still open (sops 3.13 refuses those too).

These rules were checked against the sops 3.11 binary (tests/peer/test_emitter_corpus.py,
``FOOT_CORPUS``): each comment gets the key path, and so the AAD, that sops encrypts it with.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator

from sopskit.errors import ParseError
from sopskit.format.tree import Comment, TreeMap, Value, deep_copy
from sopskit.stores._yaml_resolve import UnsupportedIntError, resolve_plain
from sopskit.stores.limits import check_depth, check_size, check_tree, ensure_recursion_headroom, exceeded_nodes
from sopskit.stores.limits import current as current_limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_STR_TAG = "tag:yaml.org,2002:str"
_BINARY_TAG = "tag:yaml.org,2002:binary"
_Pos = tuple[int, int]


# The three records below are plain slotted classes, not dataclasses: the decrypt path must
# not import :mod:`dataclasses` (see docs/performance.md).

class _Ev:
    """One parser event, library-neutral."""

    __slots__ = ("anchor", "end", "flow", "kind", "plain", "start", "style", "tag", "value")

    def __init__(self, kind: str, start: _Pos, end: _Pos) -> None:
        self.kind = kind  # scalar, alias, map, seq, end, doc, docend
        self.start = start
        self.end = end
        self.value = ""
        self.tag: str | None = None
        self.plain = False  # plain (unquoted, untagged) scalar
        self.style: str | None = None
        self.anchor: str | None = None
        self.flow = False


class _Comment:
    __slots__ = ("col", "inline", "line", "text")

    def __init__(self, line: int, col: int, text: str, inline: bool) -> None:
        self.line = line
        self.col = col
        self.text = text
        self.inline = inline


_KINDS = {
    "ScalarEvent": "scalar", "AliasEvent": "alias", "MappingStartEvent": "map",
    "SequenceStartEvent": "seq", "MappingEndEvent": "end", "SequenceEndEvent": "end",
    "DocumentStartEvent": "doc", "DocumentEndEvent": "docend",
}


def _convert(events: Iterable[Any]) -> Iterator[_Ev]:
    # the parsers are lazy: stopping here on a limit stops the parse itself, before a huge or
    # deep input costs minutes (ruamel's pure-Python parser does ~15 000 events a second)
    # ruamel's cost per token also grows with the flow nesting level, so a node inside flow
    # collections counts once per enclosing flow collection ("flow work")
    limits = current_limits()
    max_events = 2 * limits.max_nodes + 16
    count = flow_work = 0
    kinds: list[bool] = []  # per open collection: is it a flow collection?
    flow_depth = 0
    for e in events:
        kind = _KINDS.get(type(e).__name__)
        if kind is None:
            continue
        count += 1
        if kind != "end":
            flow_work += flow_depth
        if count > max_events or flow_work > limits.max_nodes:
            raise exceeded_nodes(limits)
        if kind in ("map", "seq"):
            flow = bool(e.flow_style)
            kinds.append(flow)
            flow_depth += flow
            check_depth(len(kinds), limits)
        elif kind == "end" and kinds:
            flow_depth -= kinds.pop()
        sm, em = e.start_mark, e.end_mark
        ev = _Ev(kind, (sm.line, sm.column), (em.line, em.column))
        if kind == "scalar":
            ev.value = e.value
            tag = e.tag
            ev.tag = None if tag in (None, "!") else tag
            ev.style = e.style or None
            ev.plain = ev.style is None and tag is None
            ev.anchor = e.anchor
        elif kind in ("map", "seq"):
            ev.anchor = e.anchor
            ev.flow = bool(e.flow_style)
        elif kind == "alias":
            ev.anchor = e.anchor
        yield ev


def _mark_error(exc: Exception) -> ParseError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or "invalid YAML"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = str(problem).split("\n")[0]
    # problems from the scanners name the syntax, never the value (e.g. "found character")
    return ParseError(f"invalid YAML{where}: {problem}")


def parse_events_libyaml(text: str) -> list[_Ev]:
    """Events from PyYAML's C parser (the fast path)."""
    from sopskit.stores._pyyaml import pyyaml

    yaml = pyyaml()

    try:
        return list(_convert(yaml.parse(text, Loader=yaml.CSafeLoader)))
    except yaml.YAMLError as exc:
        raise _mark_error(exc) from None


def parse_events_ruamel(text: str) -> list[_Ev]:
    """Events from ruamel.yaml's pure-Python parser (imported only on this path)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return list(_convert(YAML(typ="safe", pure=True).parse(text)))
    except (MarkedYAMLError, YAMLError) as exc:
        raise _mark_error(exc) from None


# -- comments ---------------------------------------------------------------------------------

def find_comments(text: str, events: list[_Ev]) -> list[_Comment]:
    """Every ``#`` comment outside scalars, with its position and whether it is inline."""
    lines = text.split("\n")
    spans: list[tuple[_Pos, _Pos]] = []
    for ev in events:
        if ev.kind != "scalar":
            continue
        start = ev.start
        if ev.style in ("|", ">"):
            start = (start[0] + 1, 0)  # the header line may hold a comment
        spans.append((start, ev.end))
    starts = [s for s, _ in spans]
    out: list[_Comment] = []
    if "#" in text:  # bisect only then: an import a comment-free file need not pay
        from bisect import bisect_right
    for lineno, line in enumerate(lines):
        pos = line.find("#")
        while pos >= 0:
            if pos == 0 or line[pos - 1] in " \t":
                i = bisect_right(starts, (lineno, pos)) - 1
                inside = i >= 0 and spans[i][0] <= (lineno, pos) < spans[i][1]
                if not inside:
                    body = line[pos + 1:]
                    if body.endswith("\r"):
                        body = body[:-1]
                    out.append(_Comment(lineno, pos, body, bool(line[:pos].strip())))
                    break
            pos = line.find("#", pos + 1)
    return out


# -- builder ----------------------------------------------------------------------------------

class _Frame:
    __slots__ = (
        "anchor",
        "col",
        "container",
        "flow",
        "inline_at",
        "key",
        "key_line",
        "key_pending",
        "keys",
        "nodes_at_start",
        "unique",
    )

    def __init__(self, container: TreeMap | list[Value], col: int, flow: bool, anchor: str | None, *,
                 unique: bool = True, nodes_at_start: int = 0) -> None:
        self.container = container
        self.col = col
        self.flow = flow
        self.anchor = anchor
        self.key: str | None = None
        self.key_pending = False  # a key was read, its value not yet complete
        self.inline_at = 0  # where inline comments of the current entry go
        self.keys: set[str] = set()
        self.key_line = -1
        self.unique = unique  # a repeated key here is refused (see the module docstring)
        self.nodes_at_start = nodes_at_start  # the builder's node count when this container opened (limits)


class _Builder:
    """Consumes events and comments in document order; yields one TreeMap per document."""

    def __init__(self, text: str, events: list[_Ev], comments: list[_Comment], *, encrypted: bool = False) -> None:
        self.encrypted = encrypted
        self.lines = text.split("\n")
        self.events = events
        self.comments = comments
        self.ci = 0
        self.anchors: dict[str, Value] = {}
        self.stack: list[_Frame] = []
        self.docs: list[TreeMap] = []
        self.root: TreeMap | None = None
        self.last_end: _Pos = (0, 0)  # end of the last content event
        self.last_colon = False  # the last content was a key awaiting its value
        self.pending_head: list[_Comment] = []
        self.pending_foot: list[list[_Comment]] = []  # groups
        # the first foot group of a scan that yaml.v3 ties to the token before it (see
        # _take_comments): it goes to the innermost block that closes after it
        self.sticky_foot: list[_Comment] | None = None
        self.inline_target: tuple[TreeMap | list[Value], int] | None = None
        # resource limits (stores.limits): nodes counted with aliases expanded, so an alias
        # bomb stops at max_nodes instead of copying billions of nodes
        self.limits = current_limits()
        self.nodes = 0
        self.anchor_sizes: dict[str, int] = {}

    def _count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > self.limits.max_nodes:
            raise exceeded_nodes(self.limits)

    # -- insertion helpers -----------------------------------------------------------------
    @staticmethod
    def _put(container: TreeMap | list[Value], index: int, c: _Comment) -> None:
        item = Comment(c.text, inline=c.inline)
        if isinstance(container, TreeMap):
            container.entries.insert(index, (item, None))
        else:
            container.insert(index, item)

    @staticmethod
    def _append(container: TreeMap | list[Value], c: _Comment) -> None:
        item = Comment(c.text, inline=c.inline)
        if isinstance(container, TreeMap):
            container.entries.append((item, None))
        else:
            container.append(item)

    def _flush_into_current(self) -> None:
        """Unmatched feet and heads go before the next entry of the current container."""
        if not self.stack:
            return
        frame = self.stack[-1]
        for group in self.pending_foot:
            for c in group:
                self._append(frame.container, c)
        for c in self.pending_head:
            self._append(frame.container, c)
        self.pending_foot = []
        self.pending_head = []
        self.sticky_foot = None

    # -- comments --------------------------------------------------------------------------
    def _scan_indent(self) -> int:
        for frame in reversed(self.stack):
            if not frame.flow:
                return frame.col
        return 0

    def _take_comments(self, until: _Pos, next_col: int) -> None:
        """Classify the comments before ``until`` (the next event) as inline, foot or head."""
        group: list[_Comment] = []
        first_empty = True
        first_group = False
        split_done = False
        indent = self._scan_indent()
        prev_line = self.last_end[0]
        foot_line = prev_line + 1
        while self.ci < len(self.comments):
            c = self.comments[self.ci]
            if (c.line, c.col) >= until:
                break
            self.ci += 1
            if c.inline:
                self._inline(c)
                prev_line = c.line
                foot_line = c.line + 1
                continue
            if not group:
                first_group = not self.pending_foot and not self.pending_head
                first_empty = c.line - prev_line <= 1
                if c.line - prev_line > 1:
                    first_empty = False
            else:
                last = group[-1]
                blank_between = c.line - last.line > 1
                if blank_between and not split_done and first_empty and (
                    (group[0].line == foot_line and not self.last_colon) or group[0].col < indent
                ):
                    if first_group and group[0].col >= indent and not self.last_colon:
                        self.sticky_foot = group  # not dedented: tied to the prior token
                    self.pending_foot.append(group)
                    group = []
                    split_done = True
                    first_group = False
                elif c.col < indent and c.col != group[0].col:
                    # split by a change of column: yaml.v3 keeps the prior token as the
                    # anchor of this foot, so a first group stays with the innermost block
                    if first_group:
                        self.sticky_foot = group
                    self.pending_foot.append(group)
                    group = []
                    first_group = False
                if blank_between:
                    split_done = True
                    first_empty = False
            group.append(c)
        if group:
            blank_after = until[0] - group[-1].line > 1
            # not dedented and right after content (not after a bare `key:`): tied to that content
            tied = first_group and first_empty and group[0].col >= indent and not self.last_colon
            if blank_after and not split_done and first_empty and (
                (group[0].line == foot_line and not self.last_colon) or group[0].col < indent
            ):
                if tied:
                    self.sticky_foot = group
                self.pending_foot.append(group)
            elif next_col < indent and next_col != group[0].col:
                # a dedented next token: a first group right before it (no blank line) is a
                # foot of the innermost closing block, except at the end of the stream where
                # only a group that is not dedented below the block stays tied to it
                direct = not blank_after and not self._at_stream_end(group[-1].line)
                if tied or (first_group and direct):
                    self.sticky_foot = group
                self.pending_foot.append(group)
            else:
                self.pending_head.extend(group)

    def _at_stream_end(self, line: int) -> bool:
        """Whether only blank lines follow ``line`` (yaml.v3 ends the stream, not a token)."""
        return all(not rest.strip() for rest in self.lines[line + 1:])

    def _inline(self, c: _Comment) -> None:
        target = self.inline_target
        if target is None:
            if self.stack:
                self._append(self.stack[-1].container, c)
            else:
                self.pending_head.append(c)
            return
        container, index = target
        self._put(container, index, c)
        self.inline_target = (container, index + 1)
        if self.stack and self.stack[-1].container is container:
            self.stack[-1].inline_at = index + 1

    def _close_foot(self, frame: _Frame, parent: _Frame | None) -> None:
        """Give ``frame`` the pending foot groups up to the first one at its column."""
        if frame.flow or not self.pending_foot:
            return
        if self.sticky_foot is not None and self.pending_foot[0] is self.sticky_foot:
            for c in self.pending_foot.pop(0):
                self._append(frame.container, c)
        self.sticky_foot = None
        if not self.pending_foot:
            return
        match = next((i for i, g in enumerate(self.pending_foot) if g[0].col == frame.col), -1)
        if match < 0:
            return
        taken = self.pending_foot[: match + 1]
        self.pending_foot = self.pending_foot[match + 1:]
        if isinstance(frame.container, TreeMap) or parent is None:
            for g in taken:
                for c in g:
                    self._append(frame.container, c)
        else:
            # a sequence's foot moves after the sequence's entry in the parent
            for g in taken:
                for c in g:
                    self._append(parent.container, c)

    # -- values ----------------------------------------------------------------------------
    def _scalar_value(self, ev: _Ev) -> Value:
        where = f"line {ev.start[0] + 1}, column {ev.start[1] + 1}"
        try:
            if ev.plain:
                return resolve_plain(ev.value)
            if ev.tag is None or ev.tag == _STR_TAG:
                return ev.value
            if ev.tag == _BINARY_TAG:
                try:
                    raw = base64.b64decode("".join(ev.value.split()), validate=True)
                except (binascii.Error, ValueError):
                    raise ParseError(f"invalid YAML at {where}: bad !!binary data") from None
                return raw.decode("utf-8", "surrogateescape")
            if ev.tag.startswith("tag:yaml.org,2002:"):
                value = resolve_plain(ev.value)
                expected = ev.tag.rsplit(":", 1)[1]
                ok = {
                    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                    "bool": lambda v: isinstance(v, bool),
                    "null": lambda v: v is None,
                    "timestamp": lambda v: not isinstance(v, (str, int, float, bool)) and v is not None,
                }.get(expected)
                if ok is None:
                    return ev.value
                if not ok(value):
                    raise ParseError(f"invalid YAML at {where}: value does not match its !!{expected} tag")
                if expected == "float" and isinstance(value, int):
                    return float(value)
                return value
            return ev.value
        except UnsupportedIntError:
            raise ParseError(
                f"invalid YAML at {where}: integer does not fit in 64 bits (sops: unknown type uint64)"
            ) from None

    def _add(self, value: Value, ev: _Ev, *, is_scalar: bool) -> None:
        """Attach a completed value (or key) to the current frame."""
        if not self.stack:
            # top-level scalar or sequence
            if value is None and is_scalar:
                self.root = TreeMap()
                return
            raise ParseError("YAML documents that are sequences or values are not supported by sops")
        frame = self.stack[-1]
        if isinstance(frame.container, TreeMap):
            if not frame.key_pending:
                if not isinstance(value, str):
                    raise ParseError(
                        f"invalid YAML at line {ev.start[0] + 1}, column {ev.start[1] + 1}: "
                        "non-string key (sops accepts string keys only)"
                    )
                if frame.unique and value in frame.keys:
                    raise ParseError(
                        f"invalid YAML at line {ev.start[0] + 1}, column {ev.start[1] + 1}: "
                        "mapping key already defined"
                    )
                frame.keys.add(value)
                frame.key = value
                frame.key_pending = True
                frame.inline_at = len(frame.container.entries)
                self.inline_target = (frame.container, frame.inline_at)
                self.last_colon = True
                return
            assert frame.key is not None
            frame.container.entries.append((frame.key, value))
            frame.key_pending = False
            frame.key = None
            if is_scalar:
                self.inline_target = (frame.container, frame.inline_at)
        else:
            index = len(frame.container)
            frame.container.append(value)
            if is_scalar:
                self.inline_target = (frame.container, index)
        self.last_colon = False

    def _unique_here(self) -> bool:
        """Whether a mapping opened now must have unique keys, as sops decides it."""
        if self.docs:  # documents after the first are never checked
            return False
        if not self.encrypted or not self.stack:
            return True
        return self.stack[0].key == "sops"  # inside document 1's metadata block

    def _is_missing_value(self, ev: _Ev) -> bool:
        """An implicit empty scalar (no text, tag or anchor) as the value of a block key."""
        if ev.kind != "scalar" or not ev.plain or ev.value or ev.start != ev.end or ev.anchor:
            return False
        if not self.stack:
            return False
        frame = self.stack[-1]
        return isinstance(frame.container, TreeMap) and frame.key_pending and not frame.flow

    def build(self) -> list[TreeMap]:
        """Feed each event to the handler of its kind (``_Ev.kind``); comments before an
        event are classified first, so every handler sees them placed."""
        handlers = {
            "doc": self._start_document,
            "docend": self._end_document,
            "scalar": self._scalar_or_alias,
            "alias": self._scalar_or_alias,
            "map": self._open_collection,
            "seq": self._open_collection,
            "end": self._close_collection,
        }
        for ev in self.events:
            if self._is_missing_value(ev):
                # `key:` with nothing after it: the parser places the empty value at the next
                # token, after any comments; yaml.v3 reads those after the entry (the prior
                # token is still the `:`), so they are taken with the next event
                self._add(None, ev, is_scalar=True)
                self.last_colon = True
                continue
            if ev.kind != "doc":
                self._take_comments(ev.start, ev.start[1])
            handlers[ev.kind](ev)
        return self.docs

    def _start_document(self, ev: _Ev) -> None:
        """Anchors are per document (a later document cannot refer to an earlier one's)."""
        self.root = None
        self.anchors = {}
        self.anchor_sizes = {}

    def _end_document(self, ev: _Ev) -> None:
        """Close the document: the comments still pending go to the end of its root."""
        self._take_comments(ev.start, 0)
        root = self.root if self.root is not None else TreeMap()
        for group in self.pending_foot:
            for c in group:
                self._append(root, c)
        for c in self.pending_head:
            self._append(root, c)
        self.pending_foot, self.pending_head = [], []
        self.sticky_foot = None
        self.docs.append(root)
        self.inline_target = None

    def _scalar_or_alias(self, ev: _Ev) -> None:
        """A scalar (a key or a value), or an alias copied from its anchor (counted at the
        anchor's full size, so alias bombs meet the node limit)."""
        self._flush_into_current()
        if ev.kind == "alias":
            if ev.anchor not in self.anchors:
                raise ParseError(f"invalid YAML at line {ev.start[0] + 1}: unknown anchor")
            self._count(self.anchor_sizes.get(ev.anchor or "", 1))
            value = deep_copy(self.anchors[ev.anchor or ""])
        else:
            self._count(1)
            value = self._scalar_value(ev)
            if ev.anchor:
                self.anchors[ev.anchor] = value
                self.anchor_sizes[ev.anchor] = 1
        self._add(value, ev, is_scalar=True)
        self.last_end = ev.end

    def _open_collection(self, ev: _Ev) -> None:
        """Open a mapping or a sequence; the pending comments are shared between the
        collection we are in (feet) and the new one (heads), as yaml.v3 places them."""
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, TreeMap) and not top.key_pending:
            raise ParseError(
                f"invalid YAML at line {ev.start[0] + 1}, column {ev.start[1] + 1}: "
                "non-string key (sops accepts string keys only)"
            )
        if not self.stack and ev.kind == "seq":
            raise ParseError("YAML documents that are sequences are not supported by sops")
        heads_here = self.pending_head
        feet_here = self.pending_foot
        self.pending_head, self.pending_foot = [], []
        self.sticky_foot = None
        if self.stack:
            # feet belong to the container we are in; heads open the new block
            # collection (a flow collection starts on the line of its key or dash)
            for g in feet_here:
                for c in g:
                    self._append(self.stack[-1].container, c)
            feet_here = []
            if ev.flow or isinstance(self.stack[-1].container, list):
                # comments before a "- " belong to the sequence, not the item
                for c in heads_here:
                    self._append(self.stack[-1].container, c)
                heads_here = []
        container: TreeMap | list[Value] = TreeMap() if ev.kind == "map" else []
        check_depth(len(self.stack) + 1, self.limits)
        if len(self.stack) > 100:  # anchors of deep blocks are deep-copied recursively
            ensure_recursion_headroom(len(self.stack) + 1)
        frame = _Frame(container, ev.start[1], ev.flow, ev.anchor, unique=self._unique_here(),
                       nodes_at_start=self.nodes)
        self._count(1)
        for g in feet_here:
            for c in g:
                self._append(container, c)
        for c in heads_here:
            self._append(container, c)
        if not self.stack:
            if not isinstance(container, TreeMap):
                raise ParseError("YAML documents that are sequences are not supported by sops")
            self.root = container
        self.stack.append(frame)
        self.last_colon = False

    def _close_collection(self, ev: _Ev) -> None:
        """Close the innermost collection: record its anchor, attach it to its parent, and
        give it the foot comments that belong to it."""
        frame = self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        if frame.anchor:
            self.anchors[frame.anchor] = deep_copy(frame.container)
            self.anchor_sizes[frame.anchor] = self.nodes - frame.nodes_at_start
        if parent is not None:
            self._add(frame.container, ev, is_scalar=False)
        self._close_foot(frame, parent)
        if parent is not None:
            self.inline_target = (frame.container, 0) if frame.flow else None
        self.last_end = ev.end if frame.flow else self.last_end


def build_branches(
    text: str, events: list[_Ev], comments: list[_Comment], *, encrypted: bool = False
) -> list[TreeMap]:
    return _Builder(text, events, comments, encrypted=encrypted).build()


def load_documents(data: bytes, *, force_ruamel: bool = False, encrypted: bool = False) -> list[TreeMap]:
    """Parse YAML bytes into branches; the fast libyaml path when there can be no comments.

    ``encrypted``: check repeated keys as sops does for an encrypted file, not a plaintext.
    """
    limits = current_limits()
    check_size(data, limits)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"invalid YAML: input is not UTF-8 (byte offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    # libyaml stops at its own nesting limit (1000); a raised SOPSKIT_MAX_DEPTH needs ruamel
    if "#" not in text and not force_ruamel and limits.max_depth <= _LIBYAML_MAX_DEPTH:
        try:
            events = parse_events_libyaml(text)
        except ParseError as exc:
            if "maximum nesting depth" in exc.message:
                check_depth(limits.max_depth + 1, limits)
            raise
        docs = build_branches(text, events, [], encrypted=encrypted)
    else:
        events = parse_events_ruamel(text)
        docs = build_branches(text, events, find_comments(text, events), encrypted=encrypted)
    check_tree(docs, limits)
    return docs


_LIBYAML_MAX_DEPTH = 1000
