"""SIGKILL at arbitrary points of in-place writes: every file is the old one or the new one."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.cli._support import SOPSKIT, base_env, decrypt, encrypt_json, new_age_key, run


def test_sigkill_during_in_place_set_leaves_old_or_new(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    key = new_age_key(tmp_path)
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key.key_file))
    big = {f"k{i}": "v" * 200 for i in range(400)}  # a file large enough for the write to take time
    path = encrypt_json(big, tmp_path / "s.enc.json", key.recipient, env)
    rng = random.Random(1234)
    states: set[str] = set()
    for attempt in range(12):
        expected_old = json.loads(decrypt(path, env))
        process = subprocess.Popen([*SOPSKIT, "set", str(path), '["k0"]', json.dumps(f"new-{attempt}")],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = json.loads(decrypt(path, env))  # decrypts: never torn (MAC checked)
        assert now == expected_old or now == {**expected_old, "k0": f"new-{attempt}"}
        states.add("new" if now != expected_old else "old")
        for leftover in tmp_path.glob(".s.enc.json.*"):
            assert b"v" * 200 not in leftover.read_bytes()  # a killed temp file holds ciphertext only
            leftover.unlink()
    assert states, "no attempt ran"


def test_sigkill_during_multi_file_updatekeys(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    a, b = new_age_key(tmp_path, "a"), new_age_key(tmp_path, "b")
    env_a = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(a.key_file))
    env_b = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(b.key_file))
    files = [encrypt_json({"i": str(i)}, tmp_path / f"f{i}.enc.json", a.recipient, env_a) for i in range(5)]
    old = {f: f.read_bytes() for f in files}
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {a.recipient},{b.recipient}\n")
    env = {**env_a, "SOPSKIT_TEST_PAUSE_BEFORE_WRITE": "0.5"}
    process = subprocess.Popen([*SOPSKIT, "updatekeys", "-y", *map(str, files)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    updated = 0
    for i, f in enumerate(files):
        assert json.loads(decrypt(f, env_a)) == {"i": str(i)}
        if f.read_bytes() == old[f]:
            assert run(["decrypt", str(f)], env=env_b).returncode == 128
        else:
            updated += 1
            assert json.loads(decrypt(f, env_b)) == {"i": str(i)}
    assert 0 < updated < len(files), f"the kill should land mid-run ({updated} updated)"
    # a second run finishes the job
    assert run(["updatekeys", "-y", *map(str, files)], env=env_a, cwd=tmp_path).returncode == 0
    assert all(json.loads(decrypt(f, env_b)) == {"i": str(i)} for i, f in enumerate(files))
