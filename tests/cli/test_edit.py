"""``edit`` through the real entry point with scripted editors.

The editors are small Python scripts; the secret they type comes from an environment
variable, so no plaintext byte sits in the script file on disk. After every scenario the
usual temp locations are searched for that secret.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli._support import ROOT, SOPSKIT, base_env, decrypt, enc_values, encrypt_json, new_age_key, run

#: replaces the value of "a" with $SECRET_MARKER (JSON file), optionally sleeping first
EDITOR_SCRIPT = r'''
import json, os, sys, time
path = sys.argv[-1]
with open(os.environ["EDITOR_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:-1]) + "\n" + path + "\n")
mode = os.environ.get("EDITOR_MODE", "edit")
if mode == "sleep":
    data = json.load(open(path))
    data["a"] = os.environ["SECRET_MARKER"]
    open(path, "w").write(json.dumps(data))
    open(os.environ["EDITOR_READY"], "w").write("ready")
    time.sleep(600)  # until the test signals sopskit (which ends the editor) or kills it
elif mode == "edit":
    data = json.load(open(path))
    data["a"] = os.environ["SECRET_MARKER"]
    open(path, "w").write(json.dumps(data))
elif mode == "broken":
    open(path, "w").write('{"a": "' + os.environ["SECRET_MARKER"] + '", broken')
elif mode == "append-yaml":
    open(path, "a").write("added: " + os.environ["SECRET_MARKER"] + "\n")
elif mode == "fail":
    sys.exit(3)
'''

SEARCH_SKIP = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def find_marker(marker: bytes, roots: list[Path]) -> list[Path]:
    """Files under ``roots`` whose bytes contain ``marker``."""
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SEARCH_SKIP]
            for name in filenames:
                candidate = Path(dirpath) / name
                try:
                    too_big = candidate.stat().st_size > 20_000_000
                    if candidate.is_symlink() or not candidate.is_file() or too_big:
                        continue
                    if marker in candidate.read_bytes():
                        hits.append(candidate)
                except OSError:
                    continue
    return hits


class Scenario:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir()
        key = new_age_key(tmp_path)
        self.runtime = Path(os.path.realpath("/dev/shm")) / f"sopskit-test-{secrets.token_hex(6)}"
        self.runtime.mkdir(mode=0o700)
        self.marker = "MARK" + secrets.token_hex(12)
        editor = tmp_path / "editor.py"
        editor.write_text(EDITOR_SCRIPT)
        self.log = tmp_path / "editor.log"
        self.ready = tmp_path / "ready"
        self.env = base_env(self.home, SOPS_AGE_KEY_FILE=str(key.key_file), XDG_RUNTIME_DIR=str(self.runtime),
                            EDITOR=f"{sys.executable} {editor}", SECRET_MARKER=self.marker,
                            EDITOR_LOG=str(self.log), EDITOR_READY=str(self.ready))
        self.recipient = key.recipient
        self.file = encrypt_json({"a": "old", "b": "keep", "n": 7}, tmp_path / "s.enc.json", key.recipient,
                                 self.env)

    def leaks(self) -> list[Path]:
        roots = [Path("/tmp"), Path("/var/tmp"), self.home, ROOT, self.file.parent]
        return find_marker(self.marker.encode(), roots)

    def buffers(self) -> list[Path]:
        return list(self.runtime.iterdir())


@pytest.fixture()
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    s = Scenario(tmp_path)
    yield s
    subprocess.run(["rm", "-rf", str(s.runtime)], check=False)


def test_edit_changes_only_the_edited_value_and_leaves_no_plaintext(scenario: Scenario) -> None:
    before = enc_values(scenario.file)
    out = run(["edit", str(scenario.file)], env=scenario.env)
    assert out.returncode == 0, out.stderr
    after = enc_values(scenario.file)
    assert json.loads(decrypt(scenario.file, scenario.env))["a"] == scenario.marker
    assert after["a"] != before["a"]
    assert after["b"] == before["b"] and after["n"] == before["n"]  # same IV, same ciphertext
    assert scenario.buffers() == []
    assert scenario.leaks() == []
    # the buffer was on tmpfs, in the runtime dir, 0600 inside 0700
    logged = scenario.log.read_text().splitlines()[-1]
    assert logged.startswith(str(scenario.runtime) + "/sopskit-")


def test_unchanged_edit_exits_200_and_does_not_rewrite(scenario: Scenario) -> None:
    scenario.env["EDITOR_MODE"] = "noop"
    before = scenario.file.read_bytes()
    out = run(["edit", str(scenario.file)], env=scenario.env)
    assert out.returncode == 200
    assert b"File has not changed" in out.stderr
    assert scenario.file.read_bytes() == before
    assert scenario.buffers() == []


def test_legacy_form_edits(scenario: Scenario) -> None:
    out = run([str(scenario.file)], env=scenario.env)
    assert out.returncode == 0, out.stderr
    assert json.loads(decrypt(scenario.file, scenario.env))["a"] == scenario.marker


def test_no_editor_exits_201(scenario: Scenario) -> None:
    scenario.env["EDITOR"] = "/nonexistent/editor"
    out = run(["edit", str(scenario.file)], env=scenario.env)
    assert out.returncode == 201
    assert scenario.buffers() == []


def test_failing_editor_exits_201_and_removes_buffer(scenario: Scenario) -> None:
    scenario.env["EDITOR_MODE"] = "fail"
    before = scenario.file.read_bytes()
    out = run(["edit", str(scenario.file)], env=scenario.env)
    assert out.returncode == 201
    assert scenario.file.read_bytes() == before
    assert scenario.buffers() == []


def test_invalid_syntax_aborts_keeping_text_on_tmpfs_only(scenario: Scenario) -> None:
    scenario.env["EDITOR_MODE"] = "broken"
    before = scenario.file.read_bytes()
    out = run(["edit", str(scenario.file)], env=scenario.env)  # stdin not a TTY: abort and keep
    assert out.returncode == 2
    assert scenario.file.read_bytes() == before
    assert scenario.marker.encode() not in out.stderr
    kept = [p for d in scenario.buffers() for p in d.iterdir()]
    assert len(kept) == 1 and scenario.marker.encode() in kept[0].read_bytes()
    assert str(kept[0]).encode() in out.stderr  # the user is told where the text is
    assert kept[0].stat().st_mode & 0o777 == 0o600
    assert kept[0].parent.stat().st_mode & 0o777 == 0o700
    assert scenario.leaks() == []


def test_new_file_starts_from_template(scenario: Scenario, tmp_path: Path) -> None:
    new = tmp_path / "new.enc.yaml"
    scenario.env["EDITOR_MODE"] = "append-yaml"
    out = run(["edit", "--age", scenario.recipient, str(new)], env=scenario.env)
    assert out.returncode == 0, out.stderr
    plain = decrypt(new, scenario.env)
    assert f"added: {scenario.marker}".encode() in plain
    assert b"example_key: example_value" in plain
    assert scenario.marker.encode() not in new.read_bytes()
    # unchanged template: nothing is created
    scenario.env["EDITOR_MODE"] = "noop"
    other = tmp_path / "other.enc.yaml"
    assert run(["edit", "--age", scenario.recipient, str(other)], env=scenario.env).returncode == 200
    assert not other.exists()


def _start_sleeping_edit(scenario: Scenario) -> subprocess.Popen[bytes]:
    scenario.env["EDITOR_MODE"] = "sleep"
    process = subprocess.Popen([*SOPSKIT, "edit", str(scenario.file)], env=scenario.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not scenario.ready.exists():
        assert time.monotonic() < deadline, "the editor never started"
        time.sleep(0.05)
    # during the edit the plaintext exists only inside the tmpfs runtime dir (the buffer first:
    # the leak search walks all of /tmp, which can take a minute on a busy machine)
    assert len(scenario.buffers()) == 1
    assert scenario.leaks() == []
    return process


def _editor_pid(scenario: Scenario, parent: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    assert pids, "no editor child found"
    return pids[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_to_sopskit_removes_buffer(scenario: Scenario, sig: signal.Signals) -> None:
    before = scenario.file.read_bytes()
    process = _start_sleeping_edit(scenario)
    process.send_signal(sig)
    _out, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert b"Traceback" not in err
    assert scenario.buffers() == []
    assert scenario.file.read_bytes() == before
    assert scenario.leaks() == []


def test_editor_killed_removes_buffer(scenario: Scenario) -> None:
    before = scenario.file.read_bytes()
    process = _start_sleeping_edit(scenario)
    os.kill(_editor_pid(scenario, process.pid), signal.SIGKILL)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 201
    assert b"killed by signal 9" in err
    assert scenario.buffers() == []
    assert scenario.file.read_bytes() == before
    assert scenario.leaks() == []


def test_editor_gets_hardening_flags_for_vim(scenario: Scenario, tmp_path: Path) -> None:
    fake_vim = tmp_path / "bin" / "vim"
    fake_vim.parent.mkdir()
    fake_vim.write_text(f"#!/bin/sh\nexec {sys.executable} {tmp_path / 'editor.py'} \"$@\"\n")
    fake_vim.chmod(0o755)
    scenario.env["EDITOR"] = str(fake_vim)
    assert run(["edit", str(scenario.file)], env=scenario.env).returncode == 0
    flags = scenario.log.read_text().splitlines()[0]
    assert "-n -i NONE" in flags and "noswapfile" in flags and "noundofile" in flags


def test_encrypt_reusing_keeps_unchanged_ciphertext(tmp_path: Path) -> None:
    """``encrypt --reuse-ciphertext-from OLD``: OLD's data key, unchanged values byte-identical."""
    (tmp_path / "home").mkdir()
    key = new_age_key(tmp_path)
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key.key_file))
    old = encrypt_json({"user": "app", "password": "old-pw", "n": 2}, tmp_path / "old.enc.json",
                       key.recipient, env)
    plain = tmp_path / "new.json"
    plain.write_text('{"user": "app", "password": "new-pw", "n": 2}')
    out = run(["encrypt", "--reuse-ciphertext-from", str(old), str(plain)], env=env)
    assert out.returncode == 0, out.stderr.decode()
    new = tmp_path / "new.enc.json"
    new.write_bytes(out.stdout)
    before, after = enc_values(old), enc_values(new)
    assert after["user"] == before["user"] and after["n"] == before["n"]
    assert after["password"] != before["password"]
    assert json.loads(decrypt(new, env)) == {"user": "app", "password": "new-pw", "n": 2}
    again = run(["encrypt", "--reuse-ciphertext-from", str(old), str(old)], env=env)
    assert again.returncode == 203 and b"Traceback" not in again.stderr
