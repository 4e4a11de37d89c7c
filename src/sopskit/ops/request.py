"""What command-line inputs resolve to, for the CLI layer (which talks to ``ops`` only).

The file format a name implies, the key context (optionally with in-memory age identities,
e.g. from the cluster) and the ``--decryption-order`` list: small answers whose logic lives
in ``stores`` and ``keys``, exposed here so ``cli/`` needs no import below ``ops``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.keys.base import KeyContext
from sopskit.keys.datakey import parse_decryption_order
from sopskit.stores import format_for_path

__all__ = ["KeyContext", "format_for_path", "generate_age_identity", "key_context", "parse_decryption_order"]


def key_context(age_identities: Sequence[str] | None = None) -> KeyContext:
    """The key context of a command: the environment's key sources, or only
    ``age_identities`` when given."""
    return KeyContext(age_identities=list(age_identities) if age_identities is not None else None)


def generate_age_identity(*, pq: bool = False) -> tuple[str, str]:
    """A fresh age ``(identity, recipient)``, in memory only (``pq``: hybrid post-quantum)."""
    from sopskit.keys.age import generate_identity

    return generate_identity(pq=pq)
