"""``exec-env``, ``exec-file`` and ``filestatus`` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._support import base_env, encrypt_json, new_age_key, run


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "home").mkdir()
    key = new_age_key(tmp_path)
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key.key_file))
    path = encrypt_json({"TOKEN": "t0k", "FLAG": True, "PI": 3.5, "N": 4}, tmp_path / "s.enc.json",
                        key.recipient, env)
    return path, env


def test_exec_env_exports_top_level_scalars(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    out = run(["exec-env", str(path), 'echo "$TOKEN $FLAG $PI $N $HOME"'], env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().split()[:4] == ["t0k", "true", "3.5", "4"]
    pristine = run(["exec-env", "--pristine", str(path), 'echo "[$HOME]$TOKEN"'], env=env)
    assert pristine.stdout.strip() == b"[]t0k"


def test_exec_env_propagates_exit_status(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    assert run(["exec-env", str(path), "exit 7"], env=env).returncode == 7


def test_exec_env_rejects_nested_values(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    key = new_age_key(tmp_path)
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key.key_file))
    path = encrypt_json({"nested": {"x": "y"}}, tmp_path / "n.enc.json", key.recipient, env)
    out = run(["exec-env", str(path), "true"], env=env)
    assert out.returncode == 1 and b"nested" in out.stderr and b"Traceback" not in out.stderr


def test_exec_file_fifo_and_no_fifo(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    fifo = run(["exec-file", str(path), 'test -p {} && cat {}'], env=env)
    assert fifo.returncode == 0, fifo.stderr
    assert b'"TOKEN": "t0k"' in fifo.stdout
    regular = run(["exec-file", "--no-fifo", "--filename", "app.env", "--output-type", "dotenv", str(path),
                   'test -f {} && stat -c %a {} && dirname {} && cat {}'], env=env)
    assert regular.returncode == 0, regular.stderr
    lines = regular.stdout.decode().splitlines()
    assert lines[0] == "600"
    assert lines[1].startswith("/dev/shm/") or lines[1].startswith(env.get("XDG_RUNTIME_DIR", "/dev/shm"))
    assert "TOKEN=t0k" in lines
    assert not Path(lines[1]).exists()  # removed after the command


def test_exec_file_rejects_paths_in_filename(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    out = run(["exec-file", "--no-fifo", "--filename", "../escape", str(path), "cat {}"], env=env)
    assert out.returncode == 1


def test_filestatus(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, env = setup
    assert run(["filestatus", str(path)], env=env).stdout == b'{"encrypted":true}\n'
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: 1\n")
    assert run(["filestatus", str(plain)], env=env).stdout == b'{"encrypted":false}\n'
    assert run(["filestatus", "--input-type", "json", str(path)], env=env).stdout == b'{"encrypted":true}\n'
    assert run(["filestatus", str(tmp_path / "missing.yaml")], env=env).returncode == 100
