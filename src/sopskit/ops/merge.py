"""Three-way merge of SOPS files, in memory: the engine behind ``sopskit git merge-driver``.

Git cannot merge two encrypted versions of a file: every edit changes the MAC and
``lastmodified`` lines, so any two branches conflict, and resolving means decrypting to disk
(sops #52). Here base, ours and theirs are decrypted in memory, their *plaintext trees* are
merged key by key, and the result is sealed with the file's data key and IV stash, so values
neither side changed keep their exact ciphertext.

Rules: a value changed on one side only takes that side; changed identically on both is
fine; mappings merge per key (additions and deletions from both sides); anything else is a
conflict. A conflict is recorded *inside the tree*: the key gets a mapping
``{"<<<<<<< ours": …, "||||||| base": …, ">>>>>>> theirs": …}`` (flat formats such as dotenv
and INI keep ours and add ``KEY__CONFLICT_THEIRS``), which is then encrypted like any other
value. So a conflicted file is still a valid, decryptable SOPS file with no plaintext on
disk; ``sopskit edit`` shows both versions, and the user keeps one.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from sopskit.errors import SopsError
from sopskit.format.tree import Comment, Key, TreeMap, Value
from sopskit.keys.base import KeyContext
from sopskit.ops.decrypt import open_bytes
from sopskit.ops.document import (
    DEFAULT_DECRYPTION_ORDER,
    OpenedDocument,
    emit_encrypted,
    seal,
)
from sopskit.ops.rekey import record_label
from sopskit.stores import get_store

OURS_MARK: Final = "<<<<<<< ours"
BASE_MARK: Final = "||||||| base"
THEIRS_MARK: Final = ">>>>>>> theirs"
FLAT_SUFFIX: Final = "__CONFLICT_THEIRS"
FLAT_FORMATS = frozenset({"dotenv", "ini"})


class _Missing:
    """The key does not exist on that side."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
Side = Value | _Missing


class MergeError(SopsError):
    """The three versions cannot be merged at all (e.g. both sides changed the keys)."""


def same(a: object, b: object) -> bool:
    """Equality that tells ``1``, ``1.0`` and ``True`` apart (Python's ``==`` does not),
    because sops stores their types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, TreeMap):
        assert isinstance(b, TreeMap)
        return len(a.entries) == len(b.entries) and all(
            same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.entries, b.entries, strict=True)
        )
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@dataclass
class _Slots:
    """A mapping as keys in order, each with its value and the comments just before it."""

    order: list[str] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    comments: dict[str, tuple[Comment, ...]] = field(default_factory=dict)
    trailing: tuple[Comment, ...] = ()


def _slots(node: Side) -> _Slots:
    out = _Slots()
    if not isinstance(node, TreeMap):
        return out
    pending: list[Comment] = []
    for key, value in node.entries:
        if isinstance(key, Comment):
            pending.append(key)
            continue
        out.order.append(key)
        out.values[key] = value
        out.comments[key] = tuple(pending)
        pending = []
    out.trailing = tuple(pending)
    return out


def _pick(base: tuple[Comment, ...], ours: tuple[Comment, ...],
          theirs: tuple[Comment, ...]) -> tuple[tuple[Comment, ...], bool]:
    """The 3-way choice for an atomic value; second item True on conflict (ours returned)."""
    if same(ours, theirs):
        return ours, False
    if same(base, ours):
        return theirs, False
    if same(base, theirs):
        return ours, False
    return ours, True


def _show(path: Sequence[str]) -> str:
    return "".join(f'["{p}"]' for p in path) or "(top level)"


class _Merger:
    def __init__(self, flat: bool, markers: bool) -> None:
        self.flat = flat
        self.markers = markers
        self.conflicts: list[str] = []

    def value(self, base: Side, ours: Side, theirs: Side, path: list[str]) -> Side:
        if same(ours, theirs):
            return ours
        if same(base, ours):
            return theirs
        if same(base, theirs):
            return ours
        if isinstance(ours, TreeMap) and isinstance(theirs, TreeMap):
            return self.mapping(base, ours, theirs, path)
        self.conflicts.append(_show(path))
        if not self.markers or self.flat:
            return ours
        marker = TreeMap()
        marker[OURS_MARK] = None if isinstance(ours, _Missing) else ours
        if not isinstance(base, _Missing):
            marker[BASE_MARK] = base
        marker[THEIRS_MARK] = None if isinstance(theirs, _Missing) else theirs
        return marker

    def mapping(self, base: Side, ours: TreeMap, theirs: TreeMap, path: list[str]) -> TreeMap:
        b, o, t = _slots(base), _slots(ours), _slots(theirs)
        order = list(o.order)
        for index, key in enumerate(t.order):  # keys theirs added go after their predecessor
            if key in o.values or key in b.values:
                continue
            previous = next((k for k in reversed(t.order[:index]) if k in order), None)
            order.insert(order.index(previous) + 1 if previous is not None else 0, key)
        out = TreeMap()
        for key in order:
            merged = self.value(b.values.get(key, MISSING), o.values.get(key, MISSING),
                                t.values.get(key, MISSING), [*path, key])
            if isinstance(merged, _Missing):
                continue
            comments, clash = _pick(b.comments.get(key, ()), o.comments.get(key, ()), t.comments.get(key, ()))
            if clash:
                self.conflicts.append(_show([*path, key]) + " (comment)")
            entries: list[tuple[Key, Value]] = [(c, None) for c in comments]
            out.entries.extend(entries)
            if self.flat and _show([*path, key]) in self.conflicts and not isinstance(merged, TreeMap):
                out.entries.append((key, merged))
                other = t.values.get(key, MISSING)
                out.entries.append((key + FLAT_SUFFIX, "" if isinstance(other, _Missing) else other))
                continue
            out.entries.append((key, merged))
        trailing, clash = _pick(b.trailing, o.trailing, t.trailing)
        if clash:
            self.conflicts.append(_show(path) + " (trailing comment)")
        out.entries.extend((c, None) for c in trailing)
        return out


@dataclass
class TreeMerge:
    branches: list[TreeMap]
    conflicts: list[str]


def merge_trees(base: Sequence[TreeMap], ours: Sequence[TreeMap], theirs: Sequence[TreeMap], *,
                input_format: str = "yaml") -> TreeMerge:
    """Merge decrypted branch lists; conflicts are marked in the result (see module doc)."""
    merger = _Merger(flat=input_format in FLAT_FORMATS, markers=input_format != "binary")
    if len(ours) != len(theirs):
        if same(list(base), list(ours)):
            picked = theirs
        else:
            picked = ours
            if not same(list(base), list(theirs)):
                merger.conflicts.append("(number of YAML documents)")
        return TreeMerge([b.copy_deep() for b in picked], merger.conflicts)
    branches = []
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        b: Side = base[i] if i < len(base) else MISSING
        merged = merger.value(b, o, t, [])
        branches.append(merged if isinstance(merged, TreeMap) else o.copy_deep())
    return TreeMerge(branches, merger.conflicts)


@dataclass
class MergeOutcome:
    """The merged encrypted file and the tree paths that conflicted (no values)."""

    data: bytes
    conflicts: list[str]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _key_signature(opened: OpenedDocument) -> tuple[object, ...]:
    md = opened.metadata
    groups = tuple(tuple(sorted(record_label(r) for r in g)) for g in md.key_groups)
    return groups, md.shamir_threshold


def _open(data: bytes, fmt: str, context: KeyContext, order: Sequence[str]) -> OpenedDocument:
    return open_bytes(data, input_format=fmt, context=context, decryption_order=order)


def merge_encrypted(
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    *,
    input_format: str,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    now: _dt.datetime | None = None,
) -> MergeOutcome:
    """Merge three versions of an encrypted file; ``base`` None or empty means "no common
    ancestor" (both sides added the file). The result is encrypted with the data key of the
    side whose key groups are newest."""
    o = _open(ours, input_format, context, decryption_order)
    t = _open(theirs, input_format, context, decryption_order)
    b = _open(base, input_format, context, decryption_order) if base and base.strip() else None
    base_sig = _key_signature(b) if b is not None else None
    if _key_signature(o) == _key_signature(t) or _key_signature(t) == base_sig:
        keeper, other = o, t
    elif _key_signature(o) == base_sig:
        keeper, other = t, o
    else:
        raise MergeError("both branches changed the file's master keys differently",
                         hint="merge by hand: `sopskit updatekeys` or `sopskit rotate` after the merge")
    if keeper.data_key == other.data_key:
        keeper.cipher.seed_stash(other.cipher)
    plain_ours = [x.copy_deep() for x in o.branches]
    plain_theirs = [x.copy_deep() for x in t.branches]
    merged = merge_trees(b.branches if b is not None else [], plain_ours, plain_theirs,
                         input_format=input_format)
    store = get_store(input_format)
    if keeper is o and same(merged.branches, o.branches):
        return MergeOutcome(ours, merged.conflicts)
    if keeper is t and same(merged.branches, t.branches):
        return MergeOutcome(theirs, merged.conflicts)
    result = OpenedDocument(merged.branches, keeper.metadata, keeper.data_key, keeper.cipher)
    seal(result, now=now)
    return MergeOutcome(emit_encrypted(result, store), merged.conflicts)


__all__ = ["MergeError", "MergeOutcome", "TreeMerge", "merge_encrypted", "merge_trees", "same"]
