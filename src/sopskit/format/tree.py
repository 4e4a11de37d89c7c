"""The document tree that every store reads into and writes from.

A SOPS document is a list of *branches* (one per YAML document; every other store has
exactly one). A branch is a :class:`TreeMap`: an ordered list of ``(key, value)`` entries in
which a key is a ``str`` or a :class:`Comment` (a comment line stored as a pseudo-entry whose
value is ``None``). Order matters everywhere because it feeds the MAC.

Values are ``TreeMap``, ``list`` (whose elements may be :class:`Comment`), ``str``, ``int``,
``float``, ``bool``, ``datetime.datetime`` (YAML timestamps), ``bytes`` (only from 1.x files)
and ``None`` (skipped by encryption and by the MAC).

Why not ``dict``: comments are items in document order, and YAML allows the walk to see a
comment before any key, which a dict cannot express.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator

from sopskit.record import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias


class Comment(FrozenRecord):
    """A comment line. ``text`` is everything after ``#`` (a leading space is kept).

    Immutable and hashable; a record rather than a dataclass so that the decrypt path does
    not import :mod:`dataclasses` (see ``docs/performance.md``).
    """

    __slots__ = ("inline", "text")
    _fields = ("text", "inline")

    text: str
    inline: bool

    def __init__(self, text: str, inline: bool = False) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "inline", inline)


class Timestamp(_dt.datetime):
    """A YAML/``type:time`` timestamp with Go's nanosecond precision.

    Why: sops holds timestamps as Go ``time.Time`` (nanoseconds) and hashes their RFC 3339
    text into the MAC, while ``datetime`` stops at microseconds. A file sops wrote with
    ``.123456789`` would otherwise fail its MAC here and lose digits when re-encrypted.
    ``nanosecond`` is the whole sub-second fraction (0-999 999 999); the inherited
    ``microsecond`` is its truncation, so datetime arithmetic keeps working.
    """

    __slots__ = ("_nanosecond",)
    _nanosecond: int

    @classmethod
    def of(cls, value: _dt.datetime, nanosecond: int | None = None) -> Timestamp:
        """``value`` with a full nanosecond fraction (default: its microseconds)."""
        ns = value.microsecond * 1000 if nanosecond is None else nanosecond
        if not 0 <= ns < 1_000_000_000:
            raise ValueError("nanosecond must be in 0..999999999")
        made = cls(value.year, value.month, value.day, value.hour, value.minute, value.second,
                   ns // 1000, value.tzinfo, fold=value.fold)
        made._nanosecond = ns
        return made

    @property
    def nanosecond(self) -> int:
        return getattr(self, "_nanosecond", self.microsecond * 1000)

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:  # copy/pickle keep the nanoseconds
        base = _dt.datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                            self.microsecond, self.tzinfo, fold=self.fold)
        return (Timestamp.of, (base, self.nanosecond))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return super().__eq__(other) and self.nanosecond == nanosecond_of(other)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:  # equal values hash alike: the nanoseconds only refine equality
        return super().__hash__()


def with_nanoseconds(value: _dt.datetime, nanosecond: int) -> _dt.datetime:
    """``value`` with its fraction set to ``nanosecond``: a plain ``datetime`` when
    microseconds suffice, a :class:`Timestamp` only when sub-microsecond digits exist."""
    if nanosecond % 1000 == 0:
        return value.replace(microsecond=nanosecond // 1000)
    return Timestamp.of(value, nanosecond)


def nanosecond_of(value: _dt.datetime) -> int:
    """The sub-second fraction of any datetime in nanoseconds."""
    if isinstance(value, Timestamp):
        return value.nanosecond
    return value.microsecond * 1000


Scalar: TypeAlias = str | int | float | bool | _dt.datetime | bytes | None
Key: TypeAlias = str | Comment


class TreeMap:
    """An ordered mapping that also holds comment entries, in document order."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[tuple[Key, Value]] | None = None) -> None:
        self.entries: list[tuple[Key, Value]] = entries if entries is not None else []

    # -- mapping-like helpers (comment entries are invisible to them) --------------------
    def keys(self) -> Iterator[str]:
        return (k for k, _ in self.entries if isinstance(k, str))

    def items(self) -> Iterator[tuple[str, Value]]:
        return ((k, v) for k, v in self.entries if isinstance(k, str))

    def index_of(self, key: str) -> int:
        for i, (k, _) in enumerate(self.entries):
            if k == key and isinstance(k, str):
                return i
        return -1

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.index_of(key) >= 0

    def get(self, key: str, default: Value = None) -> Value:
        i = self.index_of(key)
        return self.entries[i][1] if i >= 0 else default

    def __getitem__(self, key: str) -> Value:
        i = self.index_of(key)
        if i < 0:
            raise KeyError(key)
        return self.entries[i][1]

    def __setitem__(self, key: str, value: Value) -> None:
        i = self.index_of(key)
        if i >= 0:
            self.entries[i] = (key, value)
        else:
            self.entries.append((key, value))

    def __delitem__(self, key: str) -> None:
        i = self.index_of(key)
        if i < 0:
            raise KeyError(key)
        del self.entries[i]

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TreeMap) and self.entries == other.entries

    def __repr__(self) -> str:
        return f"TreeMap({self.entries!r})"

    def copy_deep(self) -> TreeMap:
        return deep_copy(self)  # type: ignore[return-value]


# defined after TreeMap so that no string forward reference is evaluated at import time
# (typing.Union compiles each one: a cold start paid ~1 ms for this line)
Value: TypeAlias = TreeMap | list["Value"] | Scalar | Comment


def deep_copy(value: Value) -> Value:
    """Copy containers; scalars and comments are immutable and shared."""
    if isinstance(value, TreeMap):
        return TreeMap([(k, deep_copy(v)) for k, v in value.entries])
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def to_plain(value: Value) -> object:
    """Convert to plain Python (dict/list/scalars), dropping comments.

    This is what applications get from :func:`sopskit.load`.
    """
    if isinstance(value, TreeMap):
        return {k: to_plain(v) for k, v in value.entries if isinstance(k, str)}
    if isinstance(value, list):
        return [to_plain(v) for v in value if not isinstance(v, Comment)]
    return value


def from_plain(value: object) -> Value:
    """Build a tree from plain Python data (dicts keep their insertion order)."""
    if isinstance(value, dict):
        out = TreeMap()
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"non-string key {k!r}")
            out.entries.append((k, from_plain(v)))
        return out
    if isinstance(value, (list, tuple)):
        return [from_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool, _dt.datetime, bytes, Comment)):
        return value
    raise TypeError(f"unsupported value type {type(value).__name__}")
