"""Every C2SP CCTV age vector (../shared/vectors/age, provenance in its README) through
sopskit's age code.

Three runs, each over the vectors it applies to:

* the production path, :func:`sopskit.keys.age.decrypt_age` after
  :func:`sopskit.keys.age.dearmor_age` (what ``AgeKey.decrypt`` does with an ``enc`` field):
  post-quantum and X25519 identities on the native path (keys/age_x25519.py), SSH ones
  through pyrage. Success vectors
  must decrypt to their payload hash; failure vectors must fail; where the native path or
  the armour reader decides, the failure kind must be the one the vector names;
* the native format layer (:mod:`sopskit.keys.age_format`) alone, over every non-scrypt
  vector, with the post-quantum identity and a small X25519 unwrapper written here from the
  spec (so header, MAC and STREAM checks are exercised by the 100+ classical vectors too):
  the failure kind must match exactly, and released plaintext of payload failures must
  match the payload hash;
* the ``scrypt_*`` (and ``armor_scrypt``) vectors through
  :func:`sopskit.keys.identities.passphrase_decrypt`, the only place sopskit meets scrypt
  (passphrase-protected identity files); pass/fail only, as pyrage does not say why.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from sopskit.errors import FormatError
from sopskit.keys import age_format
from sopskit.keys.age import AgeDecryptError, _parse_identity, dearmor_age, decrypt_age
from sopskit.keys.age_format import AgeHeaderError, Stanza
from sopskit.keys.age_pq import PqIdentity
from tests.conftest import SHARED, require

CCTV = SHARED / "vectors" / "age"
_NAMES = sorted(p.name for p in CCTV.iterdir() if p.name != "README.md") if CCTV.is_dir() else []


@dataclass
class Vector:
    name: str
    expect: str
    payload: str = ""
    file_key: str = ""
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False
    body: bytes = b""


def load(name: str) -> Vector:
    raw = require(CCTV / name).read_bytes()
    head, _, body = raw.partition(b"\n\n")
    vector = Vector(name=name, expect="")
    compressed = False
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        if key == "expect":
            vector.expect = value
        elif key == "payload":
            vector.payload = value
        elif key == "file key":
            vector.file_key = value
        elif key == "identity":
            vector.identities.append(value)
        elif key == "passphrase":
            vector.passphrases.append(value)
        elif key == "armored":
            vector.armored = value == "yes"
        elif key == "compressed":
            compressed = value == "zlib"
    vector.body = zlib.decompress(body) if compressed else body
    return vector


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_all_cctv_vectors_are_present() -> None:
    """Guards the parametrised tests below: with the folder missing they would be empty."""
    require(CCTV)
    assert len(_NAMES) == 143
    assert sum(1 for n in _NAMES if n.startswith("hybrid")) == 18


# -- a from-the-spec X25519 unwrapper, for the native format layer only ---------------------

def _x25519_unwrapper(identity: str):  # type: ignore[no-untyped-def]
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    from sopskit.keys import age_bech32

    _, scalar = age_bech32.decode(identity)
    private = X25519PrivateKey.from_private_bytes(scalar)
    ours = private.public_key().public_bytes_raw()

    def unwrap(stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 1:
                raise AgeHeaderError("X25519 stanza needs one argument")
            share = age_format.b64decode(stanza.args[0])
            if len(share) != 32:
                raise AgeHeaderError("X25519 share is not 32 bytes")
            if len(stanza.body) != 32:
                raise AgeHeaderError("X25519 body is not 32 bytes")
            try:
                secret = private.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                raise AgeHeaderError("X25519 low-order share") from None
            key = age_format._hkdf(secret, share + ours, b"age-encryption.org/v1/X25519")
            try:
                return ChaCha20Poly1305(key).decrypt(bytes(12), stanza.body, None)
            except InvalidTag:
                continue
        return None

    return unwrap


def _native_unwrappers(vector: Vector):  # type: ignore[no-untyped-def]
    out = []
    for identity in vector.identities:
        if identity.startswith("AGE-SECRET-KEY-PQ-1"):
            out.append(PqIdentity.from_str(identity).unwrap)
        else:
            out.append(_x25519_unwrapper(identity))
    return out


# -- 1. the production path -----------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in _NAMES if not n.startswith("scrypt") and n != "armor_scrypt"])
def test_production_path(name: str) -> None:
    vector = load(name)
    # pyrage says only "failed"; the kind is checked wherever sopskit's own code decides
    try:
        binary = dearmor_age(vector.body) if vector.armored else vector.body
        plain = decrypt_age(binary, [_parse_identity(i) for i in vector.identities])
    except FormatError:
        assert vector.expect == "armor failure", f"{name}: armour refused, expected {vector.expect}"
        return
    except AgeDecryptError as exc:
        assert vector.expect != "success", f"{name}: {exc}"
        if exc.kind != "no match or damaged":  # decided natively (header check or PQ path)
            assert exc.kind == vector.expect, f"{name}: {exc}"
        return
    assert vector.expect == "success", f"{name}: decrypted, expected {vector.expect}"
    assert _sha(plain) == vector.payload


# -- 2. the native format layer, every kind checked ------------------------------------------

@pytest.mark.parametrize("name", [n for n in _NAMES if not n.startswith("scrypt") and n != "armor_scrypt"])
def test_native_format_layer(name: str) -> None:
    vector = load(name)
    try:
        binary = age_format.dearmor(vector.body) if vector.armored else vector.body
        plain = age_format.decrypt(binary, _native_unwrappers(vector))
    except age_format.AgeFormatError as exc:
        assert exc.kind == vector.expect, f"{name}: {exc}"
        if isinstance(exc, age_format.AgePayloadError):
            assert _sha(exc.released) == vector.payload
        return
    assert vector.expect == "success", f"{name}: decrypted, expected {vector.expect}"
    assert _sha(plain) == vector.payload


# -- 3. scrypt, as sopskit meets it: passphrase-protected identity files ----------------------

@pytest.mark.parametrize("name", [n for n in _NAMES if n.startswith("scrypt") or n == "armor_scrypt"])
def test_scrypt_through_passphrase_decrypt(name: str) -> None:
    import pyrage

    from sopskit.keys.identities import passphrase_decrypt

    vector = load(name)
    assert vector.passphrases
    results = []
    for secret in vector.passphrases:
        try:
            results.append(passphrase_decrypt(vector.body, secret))
        except (pyrage.DecryptError, FormatError):
            continue
    if vector.expect == "success":
        assert results and _sha(results[0]) == vector.payload
    else:
        assert not results, f"{name}: decrypted, expected {vector.expect}"


def test_payload_hash_covers_released_plaintext_is_meaningful() -> None:
    """The payload-failure check above is not vacuous: at least one vector releases data."""
    released = []
    for name in _NAMES:
        vector = load(name)
        if vector.expect == "payload failure" and not vector.passphrases:
            try:
                age_format.decrypt(age_format.dearmor(vector.body) if vector.armored else vector.body,
                                   _native_unwrappers(vector))
            except age_format.AgePayloadError as exc:
                released.append(len(exc.released))
    assert any(released) and len(released) == 19
