"""Stores: one module per file format behind :class:`sopskit.stores.base.Store`.

Modules are imported only when their format is used, so decrypting JSON never imports
ruamel.yaml.
"""

from __future__ import annotations

import importlib

from sopskit.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sopskit.format.metadata import Metadata
    from sopskit.format.tree import TreeMap
    from sopskit.stores.base import Store

#: format name -> "module:class"
STORE_REGISTRY = {
    "yaml": "sopskit.stores.yaml:YamlStore",
    "json": "sopskit.stores.json:JsonStore",
    "dotenv": "sopskit.stores.dotenv:DotenvStore",
    "ini": "sopskit.stores.ini:IniStore",
    "binary": "sopskit.stores.binary:BinaryStore",
}

_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


def format_for_path(path: str) -> str:
    """sops's rule: the file suffix decides; anything unknown is binary."""
    for ext, name in _EXTENSIONS.items():
        if path.endswith(ext):
            return name
    return "binary"


def get_store(name: str, *, indent: int | None = None) -> Store:
    """Instantiate the store for a format name; ``indent`` applies to YAML and JSON."""
    try:
        target = STORE_REGISTRY[name]
    except KeyError:
        known = ", ".join(STORE_REGISTRY)
        raise UsageError(f"unknown file format {name!r}; use one of {known}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    store: Store = cls(indent=indent) if indent is not None else cls()
    return store


def read_encrypted(data: bytes, store: Store) -> tuple[list[TreeMap], Metadata]:
    """Parse an encrypted file: its still-encrypted branches and its metadata (no key needed).
    Here, below ops and policy, so that every layer reads SOPS metadata the same way."""
    from sopskit.format.metadata import metadata_from_plain

    branches, plain = store.load_encrypted(data)
    return branches, metadata_from_plain(plain)
