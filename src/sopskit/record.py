"""Value records without :mod:`dataclasses`: equality, hashing, repr and pickling, written once.

Why not dataclasses: :mod:`dataclasses` imports :mod:`inspect` (and ``ast``, ``dis``...) and
generates every method with ``exec`` when a class is defined, which costs a cold ``sopskit
decrypt`` milliseconds (docs/performance.md). These two bases generate nothing: each method
reads the subclass's field list when it is called, so defining a record is as cheap as
defining a plain class, and the bases import nothing.

A subclass declares:

* ``__slots__``: the storage (ruff keeps it sorted);
* ``_fields``: the fields in constructor order. Equality, ``hash``, ``repr``, pickling and
  :meth:`Record.replace` use them; a slot not listed (a compiled regex, a cache) is derived
  state that none of them sees;
* ``_hidden`` (optional): fields holding secrets (identities, the data key, the environment,
  decrypted values); ``repr`` shows them as ``...`` so a secret never reaches a log line or
  a traceback;
* its own ``__init__``, so mypy checks the real signature. A :class:`FrozenRecord` sets its
  fields with ``object.__setattr__``.

:class:`Record` is mutable and unhashable (like ``@dataclass``); :class:`FrozenRecord` refuses
assignment and deletion, hashes by value and pickles through its constructor (like
``@dataclass(frozen=True)``). A subclass with special needs overrides one method on top
(``SelectionRules`` rebuilds its regex in ``__reduce__``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Self

__all__ = ["FrozenRecord", "Record"]


class Record:
    """A mutable value record: equality over ``_fields``, unhashable, secret-safe ``repr``."""

    __slots__ = ()

    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[tuple[str, ...]] = ()

    def _astuple(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._astuple() == other._astuple()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        hidden = self._hidden
        shown = ", ".join([f"{name}=..." if name in hidden else f"{name}={getattr(self, name)!r}"
                           for name in self._fields])
        return f"{self.__class__.__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (what ``dataclasses.replace`` does); an unknown
        field is a ``TypeError``, raised by the constructor."""
        values = dict(zip(self._fields, self._astuple(), strict=True))
        values.update(changes)
        return self.__class__(**values)


class FrozenRecord(Record):
    """An immutable value record: hashable, and pickled or copied through its constructor."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]  # frozen: hashable again
        return hash(self._astuple())

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, self._astuple())
