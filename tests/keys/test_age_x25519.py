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
