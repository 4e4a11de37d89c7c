"""Native X25519 age identities (``AGE-SECRET-KEY-1…``), for decryption.

Why not pyrage here: loading its native library is ~2 ms of every cold ``sopskit decrypt``
(docs/performance.md), while cryptography, already loaded for the values' AES-GCM, has
X25519, HKDF-SHA-256 and ChaCha20-Poly1305. pyrage still encrypts to X25519 recipients and
handles SSH identities and passphrase-protected files.

The stanza is ``-> X25519 <ephemeral share>`` with a 32-byte body (c2sp.org/age): the
shared secret ``X25519(identity, share)`` (a low-order share is refused), the wrap key
``HKDF-SHA-256(secret, salt = share || our public key, info = "age-encryption.org/v1/X25519")``
and the file key ``ChaCha20-Poly1305(wrap key, zero nonce).open(body)``. The header, its MAC
and the payload are :mod:`sopskit.keys.age_format`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.keys import age_bech32
from sopskit.keys.age_format import AgeHeaderError, Stanza, _hkdf, unwrap_first

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IDENTITY_HRP = "age-secret-key-"
RECIPIENT_HRP = "age"
STANZA_TYPE = "X25519"
_INFO = b"age-encryption.org/v1/X25519"
_KEY_SIZE = 32
_BODY_SIZE = 16 + 16  # file key + Poly1305 tag


def _private_key(scalar: bytes) -> Any:
    """cryptography's X25519 private key. Its public constructors import the OpenSSL backend
    module (``backend.x25519_supported()``, ~20 ms of imports); the Rust bindings they call
    are used directly when present, the public API otherwise (same objects)."""
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        return rust_openssl.x25519.from_private_bytes(scalar)
    except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        return X25519PrivateKey.from_private_bytes(scalar)


def _public_key(raw: bytes) -> Any:
    """cryptography's X25519 public key (see :func:`_private_key`)."""
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        return rust_openssl.x25519.from_public_bytes(raw)
    except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

        return X25519PublicKey.from_public_bytes(raw)


class X25519KeyError(ValueError):
    """A malformed X25519 identity (the message never contains it)."""


class X25519Recipient:
    """The public half, for :meth:`X25519Identity.to_public` (``str()`` is ``age1…``)."""

    def __init__(self, public: bytes) -> None:
        self.public = public

    def __str__(self) -> str:
        return age_bech32.encode(RECIPIENT_HRP, self.public)


class X25519Identity:
    """An ``AGE-SECRET-KEY-1…`` identity. ``str()`` returns the secret: never log it."""

    def __init__(self, scalar: bytes) -> None:
        if len(scalar) != _KEY_SIZE:
            raise X25519KeyError("X25519 identity: the key must be 32 bytes")
        self._scalar = scalar
        self._private = _private_key(scalar)
        self._public: bytes = self._private.public_key().public_bytes_raw()

    def __repr__(self) -> str:
        return "X25519Identity(<secret>)"

    @classmethod
    def from_str(cls, text: str) -> X25519Identity:
        try:
            return cls(age_bech32.decode_key(text, IDENTITY_HRP, upper=True))
        except age_bech32.Bech32Error as exc:
            raise X25519KeyError(f"X25519 identity: {exc}") from None

    def __str__(self) -> str:
        return age_bech32.encode(IDENTITY_HRP, self._scalar, upper=True)

    def to_public(self) -> X25519Recipient:
        return X25519Recipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``X25519`` stanza this identity opens.

        Other stanza types are ignored; a malformed ``X25519`` stanza (not one argument, a
        share or body of the wrong size, a low-order share) is a header error, as in age.
        """
        return unwrap_first(
            stanzas, STANZA_TYPE, share_name="share", share_size=_KEY_SIZE,
            body_size=_BODY_SIZE, open_body=self._open,
        )

    def _open(self, share: bytes, body: bytes) -> bytes | None:
        """The file key sealed in ``body``, or ``None`` when it is for another recipient."""
        from sopskit.format.aead import ChaCha20Poly1305, failed_authentication

        try:
            secret = self._private.exchange(_public_key(share))
        except ValueError:  # an all-zero shared secret: a low-order share
            raise AgeHeaderError("age: X25519 stanza has a low-order share") from None
        key = _hkdf(secret, share + self._public, _INFO)
        try:
            file_key: bytes = ChaCha20Poly1305(key).decrypt(bytes(12), body, None)
        except Exception as exc:
            if not failed_authentication(exc):
                raise
            return None  # addressed to another recipient
        return file_key
