"""PGP keys through gpg: the sops command lines, and gpg itself as the independent peer."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys import key_from_spec
from sopskit.keys.base import KeyContext
from sopskit.keys.pgp import PgpKey, parse_fingerprints

FP1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
FP2 = "D7229043384BCC60326C6FB9D8720D957C3D3074"
FP2_SUBKEY = "EA21E43623FA56D04982323A5C5525B581705783"  # "!" pins this encryption subkey
NOW = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
DATA_KEY = bytes(range(100, 132))


@pytest.fixture()
def context(key_env: dict[str, str]) -> KeyContext:
    return KeyContext(env=dict(os.environ))


@pytest.mark.parametrize("fp", [FP1, FP2])
def test_gpg_decrypts_what_pgpkey_wraps(fp: str, context: KeyContext) -> None:
    record = PgpKey(fp).encrypt(DATA_KEY, now=NOW, context=context)
    assert set(record.fields) == {"created_at", "enc", "fp"}
    assert record.fields["fp"] == fp
    assert record.fields["created_at"] == "2024-05-06T05:08:09Z"
    assert record.enc.startswith("-----BEGIN PGP MESSAGE-----")
    assert record.enc.endswith("-----END PGP MESSAGE-----")  # trimmed, no trailing newline
    peer = subprocess.run(["gpg", "--batch", "-d"], input=record.enc.encode(), capture_output=True,
                          env=dict(context.env), check=True)
    assert peer.stdout == DATA_KEY


def test_wrapped_for_the_right_recipient_key(context: KeyContext) -> None:
    record = PgpKey(FP2).encrypt(DATA_KEY, now=NOW, context=context)
    packets = subprocess.run(["gpg", "--batch", "--list-packets"], input=record.enc.encode(),
                             capture_output=True, env=dict(context.env), check=False)
    # FP2's encryption subkey is EA21E436…5C5525B581705783
    assert "5C5525B581705783" in packets.stdout.decode().upper()


def test_pgpkey_unwraps_what_gpg_wraps(context: KeyContext) -> None:
    peer = subprocess.run(["gpg", "--batch", "--trust-model", "always", "-e", "-a", "-r", FP1],
                          input=DATA_KEY, capture_output=True, env=dict(context.env), check=True)
    record = KeyRecord("pgp", {"fp": FP1, "created_at": "2024-01-01T00:00:00Z", "enc": peer.stdout.decode()})
    assert PgpKey.from_record(record).decrypt(record, context=context) == DATA_KEY


def test_fingerprint_spaces_removed_and_bang_accepted(context: KeyContext) -> None:
    spaced = " ".join(FP1[i:i + 4] for i in range(0, 40, 4))
    assert PgpKey(spaced).to_string() == FP1
    keys = parse_fingerprints(f"{spaced}, {FP2_SUBKEY}!")
    assert [k.to_string() for k in keys] == [FP1, FP2_SUBKEY + "!"]
    record = keys[1].encrypt(DATA_KEY, now=NOW, context=context)
    assert record.fields["fp"] == FP2_SUBKEY + "!"
    assert keys[1].decrypt(record, context=context) == DATA_KEY


@pytest.mark.parametrize("spec", ["", "not-hex", "ABC", "Z" * 40])
def test_bad_fingerprints_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        key_from_spec("pgp", spec)


def test_unknown_recipient_error_summarises_gpg(context: KeyContext) -> None:
    with pytest.raises(MasterKeyError) as caught:
        PgpKey("0123456789ABCDEF0123456789ABCDEF01234567").encrypt(DATA_KEY, now=NOW, context=context)
    assert "0123456789ABCDEF0123456789ABCDEF01234567" in str(caught.value)
    assert "encrypting" in str(caught.value)


def test_decrypt_without_the_secret_key_never_shows_plaintext(context: KeyContext, tmp_path: Path) -> None:
    record = PgpKey(FP1).encrypt(DATA_KEY, now=NOW, context=context)
    empty_home = tmp_path / "empty-gnupg"
    empty_home.mkdir(mode=0o700)
    bare = KeyContext(env={**context.env, "GNUPGHOME": str(empty_home)})
    with pytest.raises(MasterKeyError) as caught:
        PgpKey(FP1).decrypt(record, context=bare)
    assert "decrypting with " + FP1 in str(caught.value)
    assert DATA_KEY.hex() not in str(caught.value)
    subprocess.run(["gpgconf", "--kill", "all"], env=dict(bare.env), capture_output=True, check=False)


def test_gpg_binary_comes_from_context_then_env(context: KeyContext, tmp_path: Path) -> None:
    missing = KeyContext(env={**context.env, "SOPS_GPG_EXEC": str(tmp_path / "no-gpg")})
    with pytest.raises(MasterKeyError) as caught:
        PgpKey(FP1).encrypt(DATA_KEY, now=NOW, context=missing)
    assert "no-gpg" in str(caught.value) and caught.value.hint
    missing.gpg_exec = "gpg"  # the explicit setting wins over SOPS_GPG_EXEC
    assert PgpKey(FP1).encrypt(DATA_KEY, now=NOW, context=missing).fields["fp"] == FP1
