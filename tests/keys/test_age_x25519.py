"""Native X25519 age identities (sopskit.keys.age_x25519) against pyrage, which wrote the files."""

from __future__ import annotations

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from sopskit.keys import age_x25519
from sopskit.keys.age import AgeDecryptError, _parse_identity, decrypt_age, encrypt_age
from sopskit.keys.age_x25519 import X25519Identity, X25519KeyError


def test_identity_and_recipient_strings_match_pyrage() -> None:
    theirs = pyrage.x25519.Identity.generate()
    ours = X25519Identity.from_str(str(theirs))
    assert str(ours) == str(theirs)
    assert str(ours.to_public()) == str(theirs.to_public())
    assert "AGE-SECRET" not in repr(ours)


def test_decrypts_what_pyrage_encrypted_and_refuses_another_identity() -> None:
    identity = pyrage.x25519.Identity.generate()
    other = pyrage.x25519.Identity.generate()
    binary = encrypt_age(b"data key 32 bytes long.........!", str(identity.to_public()))
    parsed = _parse_identity(str(identity))
    assert isinstance(parsed, X25519Identity)
    assert decrypt_age(binary, [_parse_identity(str(other)), parsed]) == b"data key 32 bytes long.........!"
    with pytest.raises(AgeDecryptError) as caught:
        decrypt_age(binary, [_parse_identity(str(other))])
    assert caught.value.kind == "no match"


@pytest.mark.parametrize("text", [
    "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",  # bad checksum
])
def test_malformed_identities_are_refused_without_echo(text: str) -> None:
    with pytest.raises(X25519KeyError) as caught:
        X25519Identity.from_str(text)
    assert text not in str(caught.value)
    lower = str(pyrage.x25519.Identity.generate()).lower()
    with pytest.raises(X25519KeyError):
        X25519Identity.from_str(lower)


def test_the_rust_binding_shortcut_equals_the_public_api() -> None:
    scalar = bytes(range(1, 33))
    peer = X25519PrivateKey.generate().public_key().public_bytes_raw()
    public_api = X25519PrivateKey.from_private_bytes(scalar)
    shortcut = age_x25519._private_key(scalar)
    assert shortcut.public_key().public_bytes_raw() == public_api.public_key().public_bytes_raw()
    assert shortcut.exchange(age_x25519._public_key(peer)) == public_api.exchange(
        X25519PublicKey.from_public_bytes(peer))


def test_the_aead_shortcut_gives_cryptographys_public_classes() -> None:
    from cryptography.hazmat.primitives.ciphers import aead as public

    from sopskit.format import aead

    assert aead.AESGCM is public.AESGCM
    assert aead.ChaCha20Poly1305 is public.ChaCha20Poly1305


# RFC 4231 test cases 1, 2 and 6 (a key longer than the block is hashed first)
@pytest.mark.parametrize(("key", "data", "mac"), [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
])
def test_age_hmac_sha256_matches_rfc_4231(key: bytes, data: bytes, mac: str) -> None:
    from sopskit.keys.age_format import _hmac_sha256

    assert _hmac_sha256(key, data).hex() == mac


def test_age_hmac_sha256_matches_the_hmac_module_and_header_macs_compare() -> None:
    import hmac
    import os

    from sopskit.keys.age_format import _header_mac, _header_mac_matches, _hmac_sha256

    for size in (0, 1, 31, 32, 63, 64, 65, 200):
        key, data = os.urandom(size), os.urandom(size * 3 + 1)
        assert _hmac_sha256(key, data) == hmac.digest(key, data, "sha256")
    file_key, header = os.urandom(16), b"age-encryption.org/v1\n-> X25519 abc\nbody\n---"
    mac = _header_mac(file_key, header)
    assert _header_mac_matches(file_key, header, mac)
    assert not _header_mac_matches(file_key, header, mac[:-1] + bytes([mac[-1] ^ 1]))
    assert not _header_mac_matches(os.urandom(16), header, mac)
