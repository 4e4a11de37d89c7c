"""Hybrid post-quantum age keys (age 1.3): recipient ``age1pq1…``, identity
``AGE-SECRET-KEY-PQ-1…``, stanza ``-> mlkem768x25519 <enc>`` (c2sp.org/age).

The identity is a 32-byte seed (Bech32, HRP ``AGE-SECRET-KEY-PQ-``); the recipient is the
1216-byte MLKEM768-X25519 public key (Bech32, HRP ``age1pq``). Wrapping is HPKE SealBase
(:mod:`sopskit.keys.age_hpke`) with ``info = "age-encryption.org/mlkem768x25519"`` and an
empty AAD; the stanza body is the 32-byte sealed file key.
"""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.keys import age_bech32, age_hpke
from sopskit.keys.age_format import AgeHeaderError, Stanza, b64encode, unwrap_first
from sopskit.keys.identities import PQ_PREFIX as IDENTITY_PREFIX
from sopskit.keys.identities import PQ_RECIPIENT_PREFIX as RECIPIENT_PREFIX

RECIPIENT_HRP = "age1pq"
IDENTITY_HRP = "age-secret-key-pq-"
STANZA_TYPE = "mlkem768x25519"
_INFO = b"age-encryption.org/mlkem768x25519"
_SEALED_SIZE = 16 + 16  # file key + Poly1305 tag


class PqKeyError(ValueError):
    """A malformed post-quantum key string (the message never contains it)."""


class PqRecipient:
    """An ``age1pq1…`` recipient: wraps a file key into an ``mlkem768x25519`` stanza."""

    def __init__(self, public: bytes) -> None:
        if len(public) != age_hpke.PUBLIC_KEY_SIZE:
            raise PqKeyError("age1pq recipient: the key must be 1216 bytes")
        self.public = public

    @classmethod
    def from_str(cls, text: str) -> PqRecipient:
        try:
            data = age_bech32.decode_key(text, RECIPIENT_HRP, upper=False)
        except age_bech32.Bech32Error as exc:
            raise PqKeyError(f"age1pq recipient: {exc}") from None
        recipient = cls(data)
        try:  # an ML-KEM key that is not canonical is refused now, not at first use
            from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PublicKey

            MLKEM768PublicKey.from_public_bytes(data[:1184])
        except ValueError:
            raise PqKeyError("age1pq recipient: invalid ML-KEM-768 key") from None
        return recipient

    def __str__(self) -> str:
        return age_bech32.encode(RECIPIENT_HRP, self.public)

    def wrap(self, file_key: bytes) -> Stanza:
        enc, sealed = age_hpke.seal_base(self.public, _INFO, b"", file_key)
        return Stanza(STANZA_TYPE, (b64encode(enc),), sealed)


class PqIdentity:
    """An ``AGE-SECRET-KEY-PQ-1…`` identity. ``str()`` returns the secret: never log it."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != age_hpke.SEED_SIZE:
            raise PqKeyError("post-quantum identity: the key must be 32 bytes")
        self._seed = seed

    def __repr__(self) -> str:
        return "PqIdentity(<secret>)"

    @classmethod
    def generate(cls) -> PqIdentity:
        return cls(age_hpke.generate_seed())

    @classmethod
    def from_str(cls, text: str) -> PqIdentity:
        try:
            seed = age_bech32.decode_key(text, IDENTITY_HRP, upper=True)
        except age_bech32.Bech32Error as exc:
            raise PqKeyError(f"post-quantum identity: {exc}") from None
        return cls(seed)

    def __str__(self) -> str:
        return age_bech32.encode(IDENTITY_HRP, self._seed, upper=True)

    def to_public(self) -> PqRecipient:
        return PqRecipient(age_hpke.public_key(self._seed))

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``mlkem768x25519`` stanza this identity opens.

        Other stanza types are ignored; a malformed ``mlkem768x25519`` stanza is a header
        error (c2sp.org/age: one argument, a canonical 1120-byte ``enc``, a 32-byte body
        checked before decrypting).
        """
        return unwrap_first(
            stanzas, STANZA_TYPE, share_name="encapsulated key",
            share_size=age_hpke.ENC_SIZE, body_size=_SEALED_SIZE, open_body=self._open,
        )

    def _open(self, enc: bytes, sealed: bytes) -> bytes | None:
        """The file key sealed in ``sealed``, or ``None`` when it is for another recipient."""
        try:
            return age_hpke.open_base(self._seed, enc, _INFO, b"", sealed)
        except age_hpke.HpkeInvalidShareError:
            raise AgeHeaderError("age: mlkem768x25519 stanza has a low-order X25519 share") from None
        except age_hpke.HpkeError:
            return None  # addressed to another recipient


def is_pq_identity(text: str) -> bool:
    return text.startswith(IDENTITY_PREFIX)


def is_pq_recipient(text: str) -> bool:
    return text.startswith(RECIPIENT_PREFIX)
