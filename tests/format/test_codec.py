"""The value codec against sops's own value vectors and Go's formatting rules."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from sopskit.errors import DecryptionError, FormatError
from sopskit.format.codec import (
    ValueCipher,
    format_go_float,
    format_time,
    normalize_rfc3339,
    parse_enc,
    parse_time,
    value_to_bytes,
)
from sopskit.format.tree import Comment


def test_sops_value_vectors(vectors_dir: Path) -> None:
    spec = json.loads((vectors_dir / "values" / "aes256gcm-value-vectors.json").read_text())
    for vector in spec["vectors"]:
        cipher = ValueCipher(bytes.fromhex(vector["key_hex"]), rng=os.urandom)
        if vector["expect"]["ok"]:
            assert cipher.decrypt(vector["value"], vector["aad"].encode()) == vector["expect"]["plaintext"]
        else:
            with pytest.raises(DecryptionError):
                cipher.decrypt(vector["value"], vector["aad"].encode())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.56789, "1234.56789"),
        (1e21, "1000000000000000000000"),
        (42.0, "42"),
        (-0.0, "-0"),
        (1e-7, "0.0000001"),
        (0.1, "0.1"),
        (1234568000.0, "1234568000"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
    ],
)
def test_go_float_formatting(value: float, text: str) -> None:
    assert format_go_float(value) == text


def test_serialisation_of_each_type() -> None:
    assert value_to_bytes(True) == b"True"
    assert value_to_bytes(False) == b"False"
    assert value_to_bytes(-42) == b"-42"
    assert value_to_bytes("héllo") == "héllo".encode()
    assert value_to_bytes(Comment(" note")) == b" note"
    assert value_to_bytes(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) == b"2024-01-01T00:00:00Z"


def test_time_format_and_parse() -> None:
    tz = dt.timezone(dt.timedelta(hours=7, minutes=6))
    value = dt.datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz)
    assert format_time(value) == "2006-01-02T15:04:05+07:06"
    assert format_time(dt.datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=dt.UTC)) == "2024-01-01T00:00:00.5Z"
    assert parse_time("2006-01-02T15:04:05+07:06") == value
    # sops drops fractional seconds and prints a zero offset as Z before using it as AAD
    assert normalize_rfc3339("2019-12-10T22:44:49.123+00:00") == "2019-12-10T22:44:49Z"
    assert normalize_rfc3339("2019-12-10T22:44:49+01:00") == "2019-12-10T22:44:49+01:00"


def test_encrypt_layout_is_sops_layout() -> None:
    key = bytes(range(32))
    iv = bytes(range(100, 132))
    cipher = ValueCipher(key, rng=lambda n: iv[:n])
    text = cipher.encrypt("secret", b"a:b:")
    data, got_iv, tag, type_name = parse_enc(text)
    assert (got_iv, type_name, len(tag)) == (iv, "str", 16)
    # an independent AES-GCM call with a 32-byte nonce gives the same bytes
    sealed = AESGCM(key).encrypt(iv, b"secret", b"a:b:")
    assert data + tag == sealed


def test_empty_string_is_not_encrypted() -> None:
    cipher = ValueCipher(os.urandom(32), rng=os.urandom)
    assert cipher.encrypt("", b"x:") == ""
    assert cipher.decrypt("", b"x:") == ""


def test_stash_reuses_iv_for_unchanged_value_only() -> None:
    key = os.urandom(32)
    first = ValueCipher(key, rng=os.urandom).encrypt(5, b"n:")
    cipher = ValueCipher(key, rng=os.urandom)
    assert cipher.decrypt(first, b"n:") == 5
    assert cipher.encrypt(5, b"n:") == first
    assert cipher.encrypt(6, b"n:") != first
    assert parse_enc(cipher.encrypt(5, b"other:"))[1] != parse_enc(first)[1]


@pytest.mark.parametrize(
    "bad",
    [
        "ENC[AES256_GCM,data:%%%,iv:AAAA,tag:AAAA,type:str]",
        "ENC[AES256_GCM,data:AAAA,iv:AAAA,type:str]",
        "ENC[AES256_GCM,data:AAAA]",
        "not encrypted",
    ],
)
def test_malformed_enc_strings(bad: str) -> None:
    with pytest.raises(FormatError) as info:
        ValueCipher(os.urandom(32), rng=os.urandom).decrypt(bad, b"x:")
    assert "AAAA" not in str(info.value) and "not encrypted" not in str(info.value)


def test_tampered_ciphertext_and_swapped_aad() -> None:
    key = os.urandom(32)
    cipher = ValueCipher(key, rng=os.urandom)
    text = cipher.encrypt("hunter2", b"password:")
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(text, b"username:")
    assert "hunter2" not in str(info.value)
    data, _iv, _tag, _ = parse_enc(text)
    import base64

    flipped = bytes([data[0] ^ 1]) + data[1:]
    forged = text.replace(base64.b64encode(data).decode(), base64.b64encode(flipped).decode())
    with pytest.raises(DecryptionError):
        cipher.decrypt(forged, b"password:")


def test_unknown_type_tag_rejected() -> None:
    key = os.urandom(32)
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, b"x", b"k:")
    import base64

    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    text = f"ENC[AES256_GCM,data:{b(sealed[:-16])},iv:{b(iv)},tag:{b(sealed[-16:])},type:weird]"
    with pytest.raises(DecryptionError):
        ValueCipher(key, rng=os.urandom).decrypt(text, b"k:")


scalars = st.one_of(
    st.text(min_size=1),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=0)),
)


@given(scalars, st.binary(max_size=20))
def test_round_trip_every_type(value: object, aad: bytes) -> None:
    cipher = ValueCipher(b"k" * 32, rng=os.urandom)
    out = cipher.decrypt(cipher.encrypt(value, aad), aad)  # type: ignore[arg-type]
    assert out == value and type(out) is type(value)
