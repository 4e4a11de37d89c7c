"""sopskit: SOPS-compatible encryption of secrets for GitOps repositories.

The library API (stable; everything else is internal)::

    import sopskit

    config = sopskit.load("flux/secrets/prod/db.yaml")          # -> dict, MAC checked
    plain = sopskit.decrypt_file("secret.enc.yaml")              # -> plaintext bytes
    plain = sopskit.decrypt(data, format="json")
    blob = sopskit.encrypt(b"password: hunter2\\n", format="yaml", age=["age1..."])
    blob = sopskit.encrypt_file("secret.yaml")                   # keys from .sops.yaml

Errors are :class:`sopskit.SopsError` subclasses (see :mod:`sopskit.errors`). Names are
resolved lazily so that ``import sopskit`` costs almost nothing.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {
    "decrypt": "sopskit.ops.decrypt",
    "decrypt_file": "sopskit.ops.decrypt",
    "load": "sopskit.ops.decrypt",
    "load_all": "sopskit.ops.decrypt",
    "encrypt": "sopskit.ops.encrypt",
    "encrypt_file": "sopskit.ops.encrypt",
    "SopsError": "sopskit.errors",
    "IntegrityError": "sopskit.errors",
    "DecryptionError": "sopskit.errors",
    "DataKeyUnavailableError": "sopskit.errors",
    "FormatError": "sopskit.errors",
    "ConfigError": "sopskit.errors",
    "SelectionRules": "sopskit.format.selection",
    "KeySpec": "sopskit.config",
}

__all__ = ["__version__", *_API]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sopskit.config import KeySpec as KeySpec
    from sopskit.errors import (
        ConfigError as ConfigError,
    )
    from sopskit.errors import (
        DataKeyUnavailableError as DataKeyUnavailableError,
    )
    from sopskit.errors import (
        DecryptionError as DecryptionError,
    )
    from sopskit.errors import (
        FormatError as FormatError,
    )
    from sopskit.errors import (
        IntegrityError as IntegrityError,
    )
    from sopskit.errors import (
        SopsError as SopsError,
    )
    from sopskit.format.selection import SelectionRules as SelectionRules
    from sopskit.ops.decrypt import decrypt as decrypt
    from sopskit.ops.decrypt import decrypt_file as decrypt_file
    from sopskit.ops.decrypt import load as load
    from sopskit.ops.decrypt import load_all as load_all
    from sopskit.ops.encrypt import encrypt as encrypt
    from sopskit.ops.encrypt import encrypt_file as encrypt_file


def __getattr__(name: str) -> Any:
    module_name = _API.get(name)
    if module_name is None:
        raise AttributeError(f"module 'sopskit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
