"""HPKE base mode with the MLKEM768-X25519 (X-Wing) hybrid KEM, HKDF-SHA256 and
ChaCha20-Poly1305: what age's ``mlkem768x25519`` stanza needs, and nothing more.

Written from the specifications, on top of ``cryptography`` primitives:

* the KEM from filippo.io/hpke-pq (draft-ietf-hpke-pq-03): a 32-byte private seed is
  expanded with SHAKE256 to 96 bytes, the first 64 are the ML-KEM-768 seed (``d || z``),
  the last 32 the X25519 scalar; the public key is ``ek_PQ || ek_T`` (1184 + 32 bytes), the
  encapsulation ``ct_PQ || ct_T`` (1088 + 32 bytes), the shared secret
  ``SHA3-256(ss_PQ || ss_T || ct_T || ek_T || "\\.//^\\")``;
* the RFC 9180 key schedule (section 5.1, mode_base, no PSK) with
  ``suite_id = "HPKE" || I2OSP(0x647a, 2) || I2OSP(0x0001, 2) || I2OSP(0x0003, 2)``, and a
  single Seal/Open at sequence number 0 (nonce = base_nonce).

Only ``cryptography`` >= 48 has ML-KEM in its default wheels (47.0.0's raise
UnsupportedAlgorithm); X25519, HKDF and ChaCha20-Poly1305 are much older.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

KEM_ID = 0x647A
KDF_ID = 0x0001  # HKDF-SHA256
AEAD_ID = 0x0003  # ChaCha20Poly1305
SEED_SIZE = 32
PUBLIC_KEY_SIZE = 1216
ENC_SIZE = 1120
_MLKEM_EK = 1184
_MLKEM_CT = 1088
_LABEL = b"\\.//^\\"  # 5c2e2f2f5e5c
_SUITE_ID = b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
_VERSION = b"HPKE-v1"
_NK = 32  # ChaCha20-Poly1305 key
_NN = 12  # and nonce


class HpkeError(ValueError):
    """A key, encapsulation or ciphertext that cannot be used (never carries key material)."""


class HpkeInvalidShareError(HpkeError):
    """The X25519 share is a low-order point (all-zero secret): the stanza is malformed,
    not merely addressed to someone else."""


# -- KEM ------------------------------------------------------------------------------------

def _expand(seed: bytes) -> tuple[MLKEM768PrivateKey, X25519PrivateKey, bytes, bytes]:
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    if len(seed) != SEED_SIZE:
        raise HpkeError("MLKEM768-X25519: the private key must be 32 bytes")
    full = hashlib.shake_256(seed).digest(64 + 32)
    pq = MLKEM768PrivateKey.from_seed_bytes(full[:64])
    t = X25519PrivateKey.from_private_bytes(full[64:])
    return pq, t, pq.public_key().public_bytes_raw(), t.public_key().public_bytes_raw()


def public_key(seed: bytes) -> bytes:
    """PrivateKeyToPublicKey: ``ek_PQ || ek_T`` (1216 bytes)."""
    _, _, ek_pq, ek_t = _expand(seed)
    return ek_pq + ek_t


def generate_seed() -> bytes:
    return os.urandom(SEED_SIZE)


def _combine(ss_pq: bytes, ss_t: bytes, ct_t: bytes, ek_t: bytes) -> bytes:
    return hashlib.sha3_256(ss_pq + ss_t + ct_t + ek_t + _LABEL).digest()


def _x25519(private: X25519PrivateKey, peer: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    try:
        return private.exchange(X25519PublicKey.from_public_bytes(peer))
    except ValueError:  # a low-order point gives the all-zero secret, which is refused
        raise HpkeInvalidShareError("MLKEM768-X25519: invalid X25519 share") from None


def encap(public: bytes) -> tuple[bytes, bytes]:
    """``(shared_secret, enc)`` for the recipient public key ``public``."""
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    if len(public) != PUBLIC_KEY_SIZE:
        raise HpkeError("MLKEM768-X25519: the public key must be 1216 bytes")
    ek_pq, ek_t = public[:_MLKEM_EK], public[_MLKEM_EK:]
    try:
        ss_pq, ct_pq = MLKEM768PublicKey.from_public_bytes(ek_pq).encapsulate()
    except ValueError:
        raise HpkeError("MLKEM768-X25519: invalid ML-KEM-768 public key") from None
    ephemeral = X25519PrivateKey.generate()
    ct_t = ephemeral.public_key().public_bytes_raw()
    ss_t = _x25519(ephemeral, ek_t)
    return _combine(ss_pq, ss_t, ct_t, ek_t), ct_pq + ct_t


def decap(seed: bytes, enc: bytes) -> bytes:
    """The shared secret for ``enc`` (ML-KEM decapsulation never fails: implicit rejection)."""
    if len(enc) != ENC_SIZE:
        raise HpkeError("MLKEM768-X25519: the encapsulated key must be 1120 bytes")
    pq, t, _, ek_t = _expand(seed)
    ct_pq, ct_t = enc[:_MLKEM_CT], enc[_MLKEM_CT:]
    return _combine(pq.decapsulate(ct_pq), _x25519(t, ct_t), ct_t, ek_t)


# -- key schedule (RFC 9180 section 5.1, mode_base) -----------------------------------------

def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand_hkdf(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, _VERSION + _SUITE_ID + label + ikm)


def _labeled_expand(prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand_hkdf(prk, length.to_bytes(2, "big") + _VERSION + _SUITE_ID + label + info, length)


def key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """``(key, base_nonce)`` for mode_base with an empty PSK and PSK id."""
    psk_id_hash = _labeled_extract(b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(shared_secret, b"secret", b"")
    return (_labeled_expand(secret, b"key", context, _NK),
            _labeled_expand(secret, b"base_nonce", context, _NN))


def seal_base(public: bytes, info: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """SealBase: ``(enc, ciphertext)``."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    shared, enc = encap(public)
    key, nonce = key_schedule(shared, info)
    return enc, ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_base(seed: bytes, enc: bytes, info: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """OpenBase; raises :class:`HpkeError` when the ciphertext does not authenticate."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    key, nonce = key_schedule(decap(seed, enc), info)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise HpkeError("HPKE: the ciphertext does not authenticate") from None
