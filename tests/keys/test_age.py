"""age keys: the key-level vectors of sops, the armour format, and the real ``age`` CLI."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.errors import ConfigError, FormatError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys import key_from_record, key_from_spec
from sopskit.keys.age import (
    AgeKey,
    armor_age,
    dearmor_age,
    generate_identity,
    parse_recipients,
    public_key_of,
)
from sopskit.keys.base import KeyContext
from tests.conftest import require_tool

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))


@pytest.fixture()
def mock_dir(vectors_dir: Path) -> Path:
    return vectors_dir / "keys" / "age" / "mock"


def _record(recipient: str, enc: str) -> KeyRecord:
    return KeyRecord("age", {"recipient": recipient, "enc": enc})


def _isolated(tmp_path: Path, **env: str) -> KeyContext:
    """A context whose discovery sees only ``env`` and an empty HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return KeyContext(env={"HOME": str(home), "PATH": os.environ.get("PATH", ""), **env})


# -- sops's key-level vectors ---------------------------------------------------------------

def test_x25519_vector_decrypts_with_its_identity(mock_dir: Path, tmp_path: Path) -> None:
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(mock_dir / "identity.txt"))
    assert AgeKey.from_record(record).decrypt(record, context=context) == \
        (mock_dir / "encrypted-key.plaintext").read_bytes()


def test_ssh_ed25519_vector_decrypts_with_the_ssh_key(mock_dir: Path, tmp_path: Path) -> None:
    recipient = (mock_dir / "ssh-ed25519-recipient.pub").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.ssh-ed25519.age").read_text())
    context = _isolated(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(mock_dir / "ssh-ed25519-identity.key"))
    assert AgeKey.from_record(record).decrypt(record, context=context) == \
        (mock_dir / "encrypted-key.plaintext").read_bytes()


def test_passphrase_protected_identity_file_with_scripted_passphrase(mock_dir: Path, tmp_path: Path) -> None:
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "passphrase"

    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(mock_dir / "passphrase-protected-identity.age"))
    context.passphrase_reader = answer
    assert AgeKey.from_record(record).decrypt(record, context=context) == b"data"
    assert len(prompts) == 1 and "passphrase-protected-identity.age" in prompts[0]


def test_passphrase_protected_identity_without_a_terminal_is_a_clear_error(
    mock_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(mock_dir / "passphrase-protected-identity.age"))
    with pytest.raises(MasterKeyError) as caught:
        AgeKey.from_record(record).decrypt(record, context=context)
    assert "passphrase-protected" in str(caught.value)
    assert "no terminal" in str(caught.value)


def test_wrong_passphrase_is_reported_without_the_passphrase(mock_dir: Path, tmp_path: Path) -> None:
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(mock_dir / "passphrase-protected-identity.age"))
    context.passphrase_reader = lambda _prompt: "not-the-passphrase-xyz"
    with pytest.raises(MasterKeyError) as caught:
        AgeKey.from_record(record).decrypt(record, context=context)
    assert "wrong passphrase" in str(caught.value)
    assert "not-the-passphrase-xyz" not in str(caught.value)


def test_other_identity_is_a_wrong_key_and_is_never_echoed(mock_dir: Path) -> None:
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    other = (mock_dir / "other-identity.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    with pytest.raises(MasterKeyError) as caught:
        AgeKey.from_record(record).decrypt(record, context=KeyContext(age_identities=[other], env={}))
    message = str(caught.value) + (caught.value.hint or "")
    assert recipient in message
    assert other not in message and other.lower() not in message.lower()
    assert "SOPS_AGE_KEY_FILE" in (caught.value.hint or "")


def test_sops_hybrid_identity_in_a_key_file_is_usable_and_never_echoed(mock_dir: Path, tmp_path: Path) -> None:
    """sops's own mock hybrid identity loads; as it cannot open the X25519 vector, the
    failure names the key types, not the key."""
    recipient = (mock_dir / "recipient.txt").read_text().strip()
    record = _record(recipient, (mock_dir / "encrypted-key.x25519.age").read_text())
    pq_file = mock_dir / "hybrid-pq-identity.txt"
    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(pq_file))
    with pytest.raises(MasterKeyError) as caught:
        AgeKey.from_record(record).decrypt(record, context=context)
    assert "post-quantum" in str(caught.value) and "X25519 recipient" in str(caught.value)
    assert pq_file.read_text().strip() not in str(caught.value)
    assert public_key_of(pq_file.read_text().strip()).startswith("age1pq1")


# -- wrapping and the armour ----------------------------------------------------------------

def test_encrypt_writes_armour_exactly_as_sops() -> None:
    identity, recipient = generate_identity()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert set(record.fields) == {"recipient", "enc"}
    assert record.fields["recipient"] == recipient
    enc = record.enc
    lines = enc.split("\n")
    assert lines[0] == "-----BEGIN AGE ENCRYPTED FILE-----"
    assert enc.endswith("-----END AGE ENCRYPTED FILE-----\n")
    body = lines[1:-2]
    assert all(len(line) == 64 for line in body[:-1]) and 0 < len(body[-1]) <= 64
    assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY


def test_dearmor_tolerates_what_the_age_reader_tolerates() -> None:
    identity, recipient = generate_identity()
    enc = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={})).enc
    sloppy = "\n \t\n" + enc.replace("\n", "\r\n") + "  \n"  # CCTV armor_crlf, armor_whitespace_outside
    record = _record(recipient, sloppy)
    assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY
    assert armor_age(dearmor_age(sloppy)) == enc


def test_dearmor_refuses_trailing_spaces_as_the_age_reader_does() -> None:
    _, recipient = generate_identity()
    enc = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={})).enc
    with pytest.raises(FormatError, match="armo"):  # CCTV armor_whitespace_eol
        lines = enc.split("\n")
        lines[1] += " "
        dearmor_age("\n".join(lines))


@pytest.mark.parametrize("broken", [
    "no armour at all",
    "-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n",
    "-----BEGIN AGE ENCRYPTED FILE-----\n" + "A" * 68 + "\n-----END AGE ENCRYPTED FILE-----\n",
    "-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n-----END AGE ENCRYPTED FILE-----\n",
])
def test_dearmor_rejects_malformed_armour(broken: str) -> None:
    with pytest.raises(FormatError):
        dearmor_age(broken)


def test_ssh_recipient_round_trip(mock_dir: Path) -> None:
    recipient = (mock_dir / "ssh-ed25519-recipient.pub").read_text().strip()
    identity = (mock_dir / "ssh-ed25519-identity.key").read_text()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY


def test_public_key_of_matches_the_published_pairs(mock_dir: Path) -> None:
    assert public_key_of((mock_dir / "identity.txt").read_text()) == \
        (mock_dir / "recipient.txt").read_text().strip()
    ssh_public = public_key_of((mock_dir / "ssh-ed25519-identity.key").read_text())
    assert ssh_public.split()[:2] == (mock_dir / "ssh-ed25519-recipient.pub").read_text().split()[:2]


def test_generate_identity_is_fresh_and_consistent() -> None:
    first, second = generate_identity(), generate_identity()
    assert first != second
    for identity, recipient in (first, second):
        assert identity.startswith("AGE-SECRET-KEY-1") and recipient.startswith("age1")
        assert public_key_of(identity) == recipient


@pytest.mark.parametrize("spec", ["age1notbech32", "ssh-dss AAAA", "garbage", "", "age1pq1xyz"])
def test_bad_recipients_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        key_from_spec("age", spec)


def test_recipient_list_is_trimmed_and_split() -> None:
    _, r1 = generate_identity()
    _, r2 = generate_identity()
    assert [k.to_string() for k in parse_recipients(f" {r1} ,, {r2}\n")] == [r1, r2]


def test_from_record_keeps_what_the_file_says() -> None:
    key = key_from_record(_record("age1whatever", ""))
    assert isinstance(key, AgeKey) and key.to_string() == "age1whatever"


# -- independent peer: the age CLI ----------------------------------------------------------

def _keygen(tmp_path: Path) -> tuple[Path, str]:
    require_tool("age-keygen")
    path = tmp_path / "peer-key.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    identity = next(line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET"))
    return path, public_key_of(identity)


def test_age_cli_decrypts_what_agekey_wraps(tmp_path: Path) -> None:
    require_tool("age")
    key_file, recipient = _keygen(tmp_path)
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    result = subprocess.run(["age", "-d", "-i", str(key_file)], input=record.enc.encode(),
                            capture_output=True, check=True)
    assert result.stdout == DATA_KEY


def test_agekey_unwraps_what_the_age_cli_wraps(tmp_path: Path) -> None:
    require_tool("age")
    key_file, recipient = _keygen(tmp_path)
    result = subprocess.run(["age", "-a", "-r", recipient], input=DATA_KEY, capture_output=True, check=True)
    record = _record(recipient, result.stdout.decode())
    context = _isolated(tmp_path, SOPS_AGE_KEY_FILE=str(key_file))
    assert AgeKey.from_record(record).decrypt(record, context=context) == DATA_KEY


def test_age_cli_decrypts_ssh_wrapped_key(mock_dir: Path, tmp_path: Path) -> None:
    require_tool("age")
    recipient = (mock_dir / "ssh-ed25519-recipient.pub").read_text().strip()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    key = tmp_path / "id"
    key.write_bytes((mock_dir / "ssh-ed25519-identity.key").read_bytes())
    key.chmod(0o600)
    result = subprocess.run(["age", "-d", "-i", str(key)], input=record.enc.encode(),
                            capture_output=True, check=True)
    assert result.stdout == DATA_KEY


def test_dearmor_of_text_with_undecodable_bytes_is_a_format_error() -> None:
    """A store keeps invalid UTF-8 as surrogates; that is damaged armour, not a crash."""
    with pytest.raises(FormatError):
        dearmor_age("-----BEGIN AGE ENCRYPTED FILE-----\n\udcff\n-----END AGE ENCRYPTED FILE-----\n")
