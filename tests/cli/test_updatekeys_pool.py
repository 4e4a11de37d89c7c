"""Many-file ``updatekeys`` without ``--yes``: every diff is answered first, then the accepted
files go through the pool; the report keeps the files' order."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli._support import base_env, decrypt, encrypt_json, new_age_key, run


def test_interactive_many_files_ask_first_then_update_accepted(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    a, b = new_age_key(tmp_path, "a"), new_age_key(tmp_path, "b")
    env_a = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(a.key_file))
    env_b = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(b.key_file))
    d = tmp_path / "repo"
    d.mkdir()
    files = [encrypt_json({"i": str(i)}, d / f"f{i}.enc.json", a.recipient, env_a) for i in range(3)]
    before = files[1].read_bytes()
    (d / ".sops.yaml").write_text(f"creation_rules:\n  - age: {a.recipient},{b.recipient}\n")
    out = run(["updatekeys", "--jobs", "3", str(d)], env=env_a, cwd=d, stdin=b"y\nn\ny\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().count("Is this okay? (y/n): ") == 3
    assert out.stdout.decode().count(f"+++ age {b.recipient}") == 3  # each diff shown once
    lines = [line for line in out.stderr.decode().splitlines() if line.startswith(str(d))]
    assert lines == [f"{files[1]}: left unchanged", f"{files[0]}: synced with new keys",
                     f"{files[2]}: synced with new keys"]
    assert files[1].read_bytes() == before
    for i in (0, 2):
        assert json.loads(decrypt(files[i], env_b)) == {"i": str(i)}
    # standard input ends before every file is answered: those files fail, the rest go on
    more = [encrypt_json({"j": str(i)}, d / f"g{i}.enc.json", a.recipient, env_a) for i in range(2)]
    out = run(["updatekeys", str(more[0]), str(more[1])], env=env_a, cwd=d, stdin=b"y\n")
    assert out.returncode == 1
    err = out.stderr.decode()
    assert f"{more[1]}: FAILED: no answer on standard input" in err
    assert f"{more[0]}: synced with new keys" in err


def test_fresh_process_pool_runs_have_no_import_races(tmp_path: Path) -> None:
    """Each run is a fresh process, so the first files of the pool import the backends' lazy
    modules at the same time (a half-imported age_pq once failed 2 of 3 files)."""
    (tmp_path / "home").mkdir()
    a, b = new_age_key(tmp_path, "a"), new_age_key(tmp_path, "b")
    env_a = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(a.key_file))
    d = tmp_path / "many"
    d.mkdir()
    files = [encrypt_json({"i": str(i)}, d / f"f{i:02d}.enc.json", a.recipient, env_a) for i in range(12)]
    for attempt in range(3):
        flags = ["--add-age", b.recipient] if attempt == 0 else []
        out = run(["rotate", "-i", "--jobs", "12", *flags, str(d)], env=env_a)
        assert out.returncode == 0, out.stderr.decode()
        assert out.stderr.decode().count(": rotated") == 12
    env_b = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(b.key_file))
    for i, path in enumerate(files):
        assert json.loads(decrypt(path, env_b)) == {"i": str(i)}
