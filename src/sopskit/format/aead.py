"""cryptography's AEAD classes (AES-GCM for values, ChaCha20-Poly1305 for age), imported cheaply.

The public module, ``cryptography.hazmat.primitives.ciphers.aead``, re-exports classes of
cryptography's Rust bindings, but importing it first imports the whole ``ciphers`` package
(modes, algorithms, the "decrepit" ciphers...): ~10 modules and ~2.5 ms of every cold
``sopskit decrypt`` (docs/performance.md). The classes are taken from the bindings when
they are there, from the public module otherwise; a test checks both are the same objects.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
else:
    try:
        from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

        AESGCM = _rust_openssl.aead.AESGCM
        ChaCha20Poly1305 = _rust_openssl.aead.ChaCha20Poly1305
    except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305



def failed_authentication(exc: BaseException) -> bool:
    """Whether ``exc`` is cryptography's ``InvalidTag``: a ciphertext that does not
    authenticate (tampered, another key or another position).

    Why a function instead of ``except InvalidTag``: ``cryptography.exceptions`` imports
    ``typing`` (~8% of a cold ``sopskit decrypt``, docs/performance.md). The bindings import it
    themselves when they raise it, so here it is always loaded already, and a decrypt that
    succeeds never loads it.
    """
    from cryptography.exceptions import InvalidTag

    return isinstance(exc, InvalidTag)


__all__ = ["AESGCM", "ChaCha20Poly1305", "failed_authentication"]
