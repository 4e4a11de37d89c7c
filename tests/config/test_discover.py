"""One config discovery for the CLI and the library: --config / path, then $SOPS_CONFIG, then
the nearest .sops.yaml upward from the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.config.discover import load_discovered
from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt
from sopskit.ops.encrypt import encrypt


def _config(path: Path, recipient: str) -> Path:
    path.write_text(f"creation_rules:\n  - age: {recipient}\n", encoding="utf-8")
    return path


def test_explicit_then_env_then_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "repo" / "sub"
    work.mkdir(parents=True)
    found = _config(tmp_path / "repo" / ".sops.yaml", "age1found")
    env = _config(tmp_path / "elsewhere.yaml", "age1env")
    explicit = _config(tmp_path / "explicit.yaml", "age1explicit")
    monkeypatch.chdir(work)
    monkeypatch.delenv("SOPS_CONFIG", raising=False)
    discovered = load_discovered()
    assert discovered is not None and discovered.path.resolve() == found.resolve()
    from_env = load_discovered(env={"SOPS_CONFIG": str(env)})
    assert from_env is not None and from_env.path.resolve() == env.resolve()
    chosen = load_discovered(explicit, env={"SOPS_CONFIG": str(env)})
    assert chosen is not None and chosen.path.resolve() == explicit.resolve()


def test_library_encrypt_honours_sops_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    identity, recipient = generate_identity()
    _other_identity, other_recipient = generate_identity()
    work = tmp_path / "repo"
    work.mkdir()
    _config(work / ".sops.yaml", other_recipient)
    monkeypatch.chdir(work)
    monkeypatch.setenv("SOPS_CONFIG", str(_config(tmp_path / "ci.sops.yaml", recipient)))
    encrypted = encrypt(b"a: secret\n", format="yaml", path="x.yaml")
    assert recipient.encode() in encrypted and other_recipient.encode() not in encrypted
    assert decrypt(encrypted, format="yaml", identities=[identity]) == b"a: secret\n"
