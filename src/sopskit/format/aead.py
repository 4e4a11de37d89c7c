"""cryptography's AEAD classes (AES-GCM for values, ChaCha20-Poly1305 for age), imported cheaply.

The public module, ``cryptography.hazmat.primitives.ciphers.aead``, re-exports classes of
cryptography's Rust bindings, but importing it first imports the whole ``ciphers`` package
(modes, algorithms, the "decrepit" ciphers...): ~10 modules and ~2.5 ms of every cold
``sopskit decrypt`` (docs/performance.md). The classes are taken from the bindings when
they are there, from the public module otherwise; a test checks both are the same objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
else:
    try:
        from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

        AESGCM = _rust_openssl.aead.AESGCM
        ChaCha20Poly1305 = _rust_openssl.aead.ChaCha20Poly1305
    except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

__all__ = ["AESGCM", "ChaCha20Poly1305"]
