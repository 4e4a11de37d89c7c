"""Identity discovery: every source sops reads, their order, key commands, file syntax."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from pathlib import Path

import pytest

from sopskit.errors import MasterKeyError
from sopskit.keys.age import AgeKey, generate_identity
from sopskit.keys.base import KeyContext
from sopskit.keys.identities import (
    default_key_file,
    discover_identities,
    parse_identity_file,
    split_identity_list,
)

DATA_KEY = b"\x07" * 32


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _script(tmp_path: Path, name: str, body: str) -> str:
    """A python script run as a key command; returns the command line."""
    path = _write(tmp_path / name, body)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


# -- file syntax ----------------------------------------------------------------------------

def test_identity_file_syntax_comments_blanks_and_no_trailing_newline() -> None:
    a, _ = generate_identity()
    b, _ = generate_identity()
    text = f"# created: today\n# public key: age1...\n\n{a}\n   \n  {b}"
    assert parse_identity_file(text, location="x") == [a, b]


def test_malformed_line_is_named_by_line_number_not_content() -> None:
    a, _ = generate_identity()
    with pytest.raises(MasterKeyError) as caught:
        parse_identity_file(f"{a}\nsecret-looking-garbage\n", location="keys.txt")
    assert "keys.txt line 2" in str(caught.value)
    assert "secret-looking-garbage" not in str(caught.value)
    assert a not in str(caught.value)


def test_sops_age_key_accepts_any_whitespace() -> None:
    a, _ = generate_identity()
    b, _ = generate_identity()
    c, _ = generate_identity()
    assert split_identity_list(f"{a} {b}\t\n# comment line\n{c}  ") == [a, b, c]


# -- each source ----------------------------------------------------------------------------

def test_sops_age_key_file_without_trailing_newline(tmp_path: Path, age_keys_file: Path) -> None:
    assert not age_keys_file.read_bytes().endswith(b"\n")
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY_FILE=str(age_keys_file)))
    assert len(found.identities) == 2
    assert found.sources == [f"SOPS_AGE_KEY_FILE ({age_keys_file})"]


def test_sops_age_key_env(tmp_path: Path) -> None:
    a, _ = generate_identity()
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY=a))
    assert found.identities == [a] and found.sources == ["SOPS_AGE_KEY"]


def test_default_key_file_under_xdg_config_home(tmp_path: Path) -> None:
    a, _ = generate_identity()
    xdg = tmp_path / "xdg"
    _write(xdg / "sops" / "age" / "keys.txt", a + "\n")
    env = _env(tmp_path, XDG_CONFIG_HOME=str(xdg))
    assert default_key_file(env) == xdg / "sops" / "age" / "keys.txt"
    assert discover_identities(env).identities == [a]


def test_default_key_file_under_home_config(tmp_path: Path) -> None:
    a, _ = generate_identity()
    env = _env(tmp_path)
    _write(Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt", a)
    found = discover_identities(env)
    assert found.identities == [a]
    assert str(Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt") in found.sources


def test_default_ssh_keys_in_home(tmp_path: Path, vectors_dir: Path) -> None:
    ssh_key = (vectors_dir / "keys" / "age" / "mock" / "ssh-ed25519-identity.key").read_text()
    env = _env(tmp_path)
    path = _write(Path(env["HOME"]) / ".ssh" / "id_ed25519", ssh_key)
    found = discover_identities(env)
    assert found.identities == [ssh_key] and found.sources == [str(path)]
    assert str(Path(env["HOME"]) / ".ssh" / "id_rsa") in found.unused


def test_ssh_private_key_file_env(tmp_path: Path, vectors_dir: Path) -> None:
    key_path = vectors_dir / "keys" / "age" / "mock" / "ssh-ed25519-identity.key"
    found = discover_identities(_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(key_path)))
    assert found.identities == [key_path.read_text()]


def test_missing_named_file_is_an_error_not_silence(tmp_path: Path) -> None:
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY_FILE=str(tmp_path / "nope.txt")))
    assert found.identities == []
    assert any("nope.txt" in e and "not found" in e for e in found.errors)


# -- key commands ---------------------------------------------------------------------------

def test_key_cmd_is_shell_split_and_sees_the_recipient(tmp_path: Path) -> None:
    a, recipient = generate_identity()
    seen = tmp_path / "seen recipient.txt"
    command = _script(tmp_path, "key cmd.py", (
        "import os, sys, pathlib\n"
        f"pathlib.Path({str(seen)!r}).write_text(os.environ['SOPS_AGE_RECIPIENT'])\n"
        f"sys.stdout.write({a!r})\n"
    ))
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY_CMD=command), recipient=recipient)
    assert found.identities == [a] and found.sources == ["SOPS_AGE_KEY_CMD"]
    assert seen.read_text() == recipient


def test_ssh_key_cmd(tmp_path: Path, vectors_dir: Path) -> None:
    key_path = vectors_dir / "keys" / "age" / "mock" / "ssh-ed25519-identity.key"
    command = f"cat {shlex.quote(str(key_path))}"
    found = discover_identities(_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_CMD=command))
    assert found.identities == [key_path.read_text()]


def test_failing_key_cmd_reports_status_not_output(tmp_path: Path) -> None:
    command = _script(tmp_path, "fail.py", "import sys\nsys.stderr.write('LEAKED-SECRET')\nsys.exit(3)\n")
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY_CMD=command))
    assert found.identities == []
    assert any("status 3" in e for e in found.errors)
    assert "LEAKED-SECRET" not in found.describe()


def test_key_cmd_that_cannot_start(tmp_path: Path) -> None:
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY_CMD="/nonexistent/binary --flag"))
    assert any("cannot run" in e for e in found.errors)


# -- precedence and combination -------------------------------------------------------------

def test_all_sources_are_loaded_in_sops_order(tmp_path: Path, vectors_dir: Path) -> None:
    ssh_path = vectors_dir / "keys" / "age" / "mock" / "ssh-ed25519-identity.key"
    ids = [generate_identity()[0] for _ in range(3)]
    env = _env(
        tmp_path,
        SOPS_AGE_KEY_FILE=str(_write(tmp_path / "file.txt", ids[1])),
        SOPS_AGE_KEY=ids[0],
        SOPS_AGE_KEY_CMD=_script(tmp_path, "cmd.py", f"print({ids[2]!r})\n"),
        SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(ssh_path),
    )
    default = _write(Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt", generate_identity()[0])
    found = discover_identities(env)
    assert [s.split(" ")[0] for s in found.sources] == [
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD",
        str(default),
    ]
    assert found.identities[1:4] == ids


def test_a_broken_source_does_not_hide_a_working_one(tmp_path: Path) -> None:
    a, recipient = generate_identity()
    env = _env(tmp_path, SOPS_AGE_KEY="garbage-line", SOPS_AGE_KEY_FILE=str(_write(tmp_path / "k", a)))
    record = AgeKey(recipient).encrypt(DATA_KEY, now=dt.datetime.now(dt.UTC), context=KeyContext(env={}))
    assert AgeKey(recipient).decrypt(record, context=KeyContext(env=env)) == DATA_KEY


def test_in_memory_identities_replace_discovery(tmp_path: Path) -> None:
    a, recipient = generate_identity()
    b, _ = generate_identity()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=dt.datetime.now(dt.UTC), context=KeyContext(env={}))
    env = _env(tmp_path, SOPS_AGE_KEY=a)
    with pytest.raises(MasterKeyError):
        AgeKey(recipient).decrypt(record, context=KeyContext(env=env, age_identities=[b]))
    assert AgeKey(recipient).decrypt(record, context=KeyContext(env=env)) == DATA_KEY


def test_no_sources_message_lists_where_it_looked(tmp_path: Path) -> None:
    _, recipient = generate_identity()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=dt.datetime.now(dt.UTC), context=KeyContext(env={}))
    with pytest.raises(MasterKeyError) as caught:
        AgeKey(recipient).decrypt(record, context=KeyContext(env=_env(tmp_path)))
    message = str(caught.value)
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "id_ed25519", "keys.txt"):
        assert name in message
    assert recipient in message


def test_encrypted_ssh_key_is_unlocked_or_explained(tmp_path: Path) -> None:
    import importlib.util
    import subprocess

    from tests.conftest import require_tool

    require_tool("ssh-keygen")
    key = tmp_path / "id_enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw-123", "-f", str(key)], check=True)
    recipient = (tmp_path / "id_enc.pub").read_text().strip()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=dt.datetime.now(dt.UTC), context=KeyContext(env={}))
    context = KeyContext(env=_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(key)),
                         passphrase_reader=lambda _prompt: "pw-123")
    if importlib.util.find_spec("bcrypt") is not None:
        assert AgeKey(recipient).decrypt(record, context=context) == DATA_KEY
        return
    with pytest.raises(MasterKeyError) as caught:
        AgeKey(recipient).decrypt(record, context=context)
    assert "bcrypt" in str(caught.value) and "pw-123" not in str(caught.value)
