"""Master-key backends behind :class:`sopskit.keys.base.MasterKey`, plus identity discovery
(:mod:`sopskit.keys.identities`) and data-key wrapping with key groups and Shamir
(:mod:`sopskit.keys.datakey`).

The registry holds ``"module:Class"`` strings so a cloud SDK is imported only when a file or
a rule actually uses that key type.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sopskit.errors import FormatError

if TYPE_CHECKING:
    from sopskit.format.metadata import KeyRecord
    from sopskit.keys.base import MasterKey, MasterKeyFactory

#: metadata key type -> "module:Class"
KEY_REGISTRY = {
    "age": "sopskit.keys.age:AgeKey",
    "pgp": "sopskit.keys.pgp:PgpKey",
    "kms": "sopskit.keys.kms:KmsKey",
    "gcp_kms": "sopskit.keys.gcp_kms:GcpKmsKey",
    "azure_kv": "sopskit.keys.azure_kv:AzureKvKey",
    "hc_vault": "sopskit.keys.hc_vault:HcVaultKey",
    "hckms": "sopskit.keys.hckms:HcKmsKey",
}


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
