"""``rotate``, ``updatekeys`` and ``groups`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._support import AgeKey, base_env, decrypt, enc_values, encrypt_json, new_age_key, run
from tests.conftest import VECTORS, require

PGP_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"  # sops functional-test key (gnupg_home)


class Keys:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "home").mkdir()
        self.a: AgeKey = new_age_key(tmp, "a")
        self.b: AgeKey = new_age_key(tmp, "b")
        both = tmp / "both.txt"
        both.write_text(self.a.identity + "\n" + self.b.identity + "\n")
        self.env_a = base_env(tmp / "home", SOPS_AGE_KEY_FILE=str(self.a.key_file))
        self.env_b = base_env(tmp / "home", SOPS_AGE_KEY_FILE=str(self.b.key_file))
        self.env_both = base_env(tmp / "home", SOPS_AGE_KEY_FILE=str(both))


@pytest.fixture()
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


def _meta(path: Path) -> dict[str, object]:
    return json.loads(path.read_text())["sops"]


def test_rotate_new_data_key_add_and_remove(keys: Keys) -> None:
    path = encrypt_json({"a": "1", "b": {"c": True}}, keys.tmp / "s.enc.json", keys.a.recipient, keys.env_a)
    before = enc_values(path)
    plain = decrypt(path, keys.env_a)
    out = run(["rotate", "-i", "--add-age", keys.b.recipient, "--rm-age", keys.a.recipient, str(path)],
              env=keys.env_a)
    assert out.returncode == 0, out.stderr
    after = enc_values(path)
    assert all(after[k] != before[k] for k in ("a", "b.c"))  # new data key: all new ciphertext
    assert decrypt(path, keys.env_b) == plain
    assert run(["decrypt", str(path)], env=keys.env_a).returncode == 128
    assert _meta(path)["version"] == "3.13.2"


def test_rotate_to_stdout_and_legacy_r(keys: Keys) -> None:
    path = encrypt_json({"a": "1"}, keys.tmp / "s.enc.json", keys.a.recipient, keys.env_a)
    original = path.read_bytes()
    out = run(["rotate", str(path)], env=keys.env_a)
    assert out.returncode == 0 and path.read_bytes() == original
    assert json.loads(out.stdout)["a"] != json.loads(original)["a"]
    legacy = run(["-r", "-i", "--add-age", keys.b.recipient, str(path)], env=keys.env_a)
    assert legacy.returncode == 0, legacy.stderr
    assert json.loads(decrypt(path, keys.env_b)) == {"a": "1"}


def test_rotate_exit_codes(keys: Keys) -> None:
    missing = str(keys.tmp / "missing.enc.json")
    assert run(["rotate", "--add-age", keys.b.recipient, missing], env=keys.env_a).returncode == 49
    assert run(["rotate", missing], env=keys.env_a).returncode == 100
    path = encrypt_json({"a": "1"}, keys.tmp / "s.enc.json", keys.a.recipient, keys.env_a)
    assert run(["rotate", str(path)], env=keys.env_b).returncode == 128


def test_rotate_many_with_dry_run_and_report(keys: Keys) -> None:
    d = keys.tmp / "secrets"
    d.mkdir()
    files = [encrypt_json({"k": str(i)}, d / f"s{i}.enc.json", keys.a.recipient, keys.env_a)
             for i in range(3)]
    (d / "plain.txt").write_text("not sops")
    snapshot = [f.read_bytes() for f in files]
    dry = run(["rotate", "--dry-run", "--add-age", keys.b.recipient, str(d)], env=keys.env_a)
    assert dry.returncode == 0, dry.stderr
    assert [f.read_bytes() for f in files] == snapshot
    assert dry.stderr.decode().count("would rotate") == 3
    assert run(["rotate", "--add-age", keys.b.recipient, str(d)], env=keys.env_a).returncode != 0  # needs -i
    out = run(["rotate", "-i", "--add-age", keys.b.recipient, str(d)], env=keys.env_a)
    assert out.returncode == 0, out.stderr
    for i, f in enumerate(files):
        assert json.loads(decrypt(f, keys.env_b)) == {"k": str(i)}


def _config(directory: Path, *recipients: str) -> Path:
    config = directory / ".sops.yaml"
    config.write_text("creation_rules:\n  - path_regex: .*\n    age: " + ",".join(recipients) + "\n")
    return config


def test_updatekeys_keeps_values_mac_lastmodified_version(keys: Keys) -> None:
    path = encrypt_json({"a": "1", "n": 2}, keys.tmp / "s.enc.json", keys.a.recipient, keys.env_a)
    before = json.loads(path.read_text())
    _config(keys.tmp, keys.a.recipient, keys.b.recipient)
    shown = run(["updatekeys", str(path)], env=keys.env_a, cwd=keys.tmp, stdin=b"n\n")
    assert shown.returncode == 0
    assert f"+++ age {keys.b.recipient}".encode() in shown.stdout
    assert json.loads(path.read_text()) == before  # answered no
    out = run(["updatekeys", "-y", str(path)], env=keys.env_a, cwd=keys.tmp)
    assert out.returncode == 0, out.stderr
    after = json.loads(path.read_text())
    for field in ("lastmodified", "mac", "version"):
        assert after["sops"][field] == before["sops"][field]
    assert {k: v for k, v in after.items() if k != "sops"} == {k: v for k, v in before.items() if k != "sops"}
    assert json.loads(decrypt(path, keys.env_b)) == {"a": "1", "n": 2}
    again = run(["updatekeys", "-y", str(path)], env=keys.env_a, cwd=keys.tmp)
    assert b"already up to date" in again.stderr


def test_updatekeys_many_continues_past_failures(keys: Keys) -> None:
    d = keys.tmp / "repo"
    d.mkdir()
    good = encrypt_json({"g": "1"}, d / "good.enc.json", keys.a.recipient, keys.env_a)
    bad = encrypt_json({"x": "1"}, d / "bad.enc.json", keys.b.recipient, keys.env_b)  # a cannot open it
    (d / "notes.txt").write_text("plain")
    _config(d, keys.a.recipient, keys.b.recipient)
    dry = run(["updatekeys", "--dry-run", str(d)], env=keys.env_a, cwd=d)
    assert dry.returncode == 0 and b"+++" in dry.stdout
    out = run(["updatekeys", "-y", str(d), str(d / "notes.txt")], env=keys.env_a, cwd=d)
    assert out.returncode == 1
    err = out.stderr.decode()
    assert "bad.enc.json: FAILED" in err and "group 0: age" in err
    assert "notes.txt: skipped" in err
    assert json.loads(decrypt(good, keys.env_b)) == {"g": "1"}
    assert run(["decrypt", str(bad)], env=keys.env_a).returncode == 128


def test_updatekeys_requires_config(keys: Keys) -> None:
    path = encrypt_json({"a": "1"}, keys.tmp / "s.enc.json", keys.a.recipient, keys.env_a)
    out = run(["updatekeys", "-y", str(path)], env=keys.env_a, cwd=keys.tmp)
    assert out.returncode == 1
    assert b".sops.yaml" in out.stderr


def test_updatekeys_on_real_sops_vector(tmp_path: Path, gnupg_home: Path) -> None:
    vector = require(VECTORS / "yaml" / "example.sops-3.7.1.age.yaml")
    key_file = require(VECTORS / "keys" / "age" / "keys.txt")
    (tmp_path / "home").mkdir()
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key_file), GNUPGHOME=str(gnupg_home))
    work = tmp_path / "example.yaml"
    work.write_bytes(vector.read_bytes())
    plain = decrypt(work, env)
    recipient = next(line.split(":", 1)[1].strip() for line in vector.read_text().splitlines()
                     if "recipient:" in line)
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {recipient}\n    pgp: {PGP_FP}\n")
    out = run(["updatekeys", "-y", str(work)], env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = work.read_text()
    for line in vector.read_text().splitlines():
        if line.strip().startswith(("lastmodified:", "mac:", "version:")):
            assert line.strip() in text  # unchanged, as sops updatekeys leaves them
    pgp_only = base_env(tmp_path / "home", GNUPGHOME=str(gnupg_home))
    assert decrypt(work, pgp_only) == plain


def test_groups_add_and_delete_with_pgp(keys: Keys, gnupg_home: Path) -> None:
    env = {**keys.env_a, "GNUPGHOME": str(gnupg_home)}
    path = encrypt_json({"a": "1"}, keys.tmp / "s.enc.json", keys.a.recipient, env)
    out = run(["groups", "add", "--file", str(path), "--pgp", PGP_FP, "-i"], env=env)
    assert out.returncode == 0, out.stderr
    meta = _meta(path)
    assert len(meta["key_groups"]) == 2 and meta["shamir_threshold"] == 2  # type: ignore[arg-type]
    assert json.loads(decrypt(path, env)) == {"a": "1"}
    pgp_only = base_env(keys.tmp / "home", GNUPGHOME=str(gnupg_home))
    assert run(["decrypt", str(path)], env=pgp_only).returncode == 128  # needs both groups
    below = run(["groups", "delete", "--file", str(path), "0", "-i"], env=env)
    assert below.returncode == 1  # below the threshold
    out = run(["groups", "delete", "--file", str(path), "--shamir-secret-sharing-threshold", "1", "0", "-i"],
              env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(decrypt(path, pgp_only)) == {"a": "1"}
    assert run(["groups", "delete", "--file", str(path), "5"], env=env).returncode == 1
