"""Master-key backends behind :class:`sopskit.keys.base.MasterKey`, plus identity discovery
(:mod:`sopskit.keys.identities`) and data-key wrapping with key groups and Shamir
(:mod:`sopskit.keys.datakey`).

Which class serves which key type is a row of the key-type table
(:mod:`sopskit.format.keytypes`): a ``"module:Class"`` string, so a cloud SDK is imported only
when a file or a rule actually uses that key type.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from sopskit.errors import FormatError
from sopskit.format.keytypes import key_type as _key_type
from sopskit.format.keytypes import key_types as _key_types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sopskit.format.metadata import KeyRecord
    from sopskit.keys.base import MasterKey, MasterKeyFactory

class _Registry(Mapping[str, str]):
    """metadata key type -> ``"module:Class"``: a live view of the key-type table."""

    def __getitem__(self, name: str) -> str:
        row = _key_type(name)
        if row is None:
            raise KeyError(name)
        return row.backend

    def __iter__(self) -> Iterator[str]:
        return iter([t.name for t in _key_types()])

    def __len__(self) -> int:
        return len(_key_types())


KEY_REGISTRY: Mapping[str, str] = _Registry()


def backend(key_type: str) -> MasterKeyFactory:
    """The backend class for a metadata key type."""
    try:
        target = KEY_REGISTRY[key_type]
    except KeyError:
        raise FormatError(f"unknown master key type {key_type!r}") from None
    module_name, _, class_name = target.partition(":")
    cls: MasterKeyFactory = getattr(importlib.import_module(module_name), class_name)
    return cls


def key_from_spec(key_type: str, spec: str | Mapping[str, Any]) -> MasterKey:
    return backend(key_type).from_spec(spec)


def key_from_record(record: KeyRecord) -> MasterKey:
    """The key a metadata record describes. A record a backend rejects is a damaged file,
    so its ConfigError becomes a FormatError here, once for every backend."""
    from sopskit.errors import ConfigError

    try:
        return backend(record.key_type).from_record(record)
    except ConfigError as exc:
        raise FormatError(f"sops metadata: {exc.message}") from exc
