"""F12-F15: the edit paths never lose typed text and say truthfully where it is; SIGQUIT
removes the edit buffer; a concurrent change during an edit fails loudly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopskit.keys.age import generate_identity
from sopskit.ops.edit import BufferLocation, SecureBuffer, kept_hint
from tests.hostile._support import Env, limit_child, run_limited, sopskit_cmd

MARKER = "TYPED-TEXT-" + os.urandom(6).hex()

EDITOR = r"""
import os, sys, time
path = sys.argv[-1]
mode = os.environ["EDITOR_MODE"]
marker = os.environ["MARKER"]
if mode == "broken":
    open(path, "w").write("stringData: [unclosed " + marker + "\n")
elif mode == "append":
    open(path, "a").write("typed: " + marker + "\n")
elif mode == "append-and-lock-target":
    open(path, "a").write("typed: " + marker + "\n")
    os.chmod(os.environ["TARGET"], 0o400)
elif mode == "append-and-change-target":
    open(path, "a").write("typed: " + marker + "\n")
    with open(os.environ["TARGET"], "ab") as other:
        other.write(b"# someone else's change\n")
elif mode == "sleep":
    open(os.environ["READY"], "w").write(path + "\n")
    time.sleep(60)
"""


@pytest.fixture()
def shm() -> Iterator[Path]:
    """A private tmpfs directory for the buffers, removed afterwards (kept buffers included)."""
    base = Path("/dev/shm")
    if not base.is_dir():
        pytest.skip("needs /dev/shm")
    directory = base / f"hostile-{os.getpid()}-{os.urandom(4).hex()}"
    directory.mkdir(mode=0o700)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _editor_env(keyenv: Env, tmp_path: Path, shm: Path, mode: str, **extra: str) -> dict[str, str]:
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    return keyenv.with_(EDITOR=f"{sys.executable} {editor}", EDITOR_MODE=mode, MARKER=MARKER,
                        SOPSKIT_TMPDIR=str(shm), **extra)


def _kept(shm: Path) -> list[Path]:
    return [p for d in shm.iterdir() for p in d.iterdir()]


def test_hint_says_disk_when_the_buffer_is_on_disk(tmp_path: Path) -> None:
    buffer = SecureBuffer(BufferLocation(tmp_path, False), "s.yaml")
    try:
        hint = kept_hint(buffer, BufferLocation(tmp_path, False))
        assert "ON DISK" in hint and "RAM" not in hint and str(buffer.path) in hint
        assert "RAM (tmpfs)" in kept_hint(buffer, BufferLocation(tmp_path, True))
    finally:
        buffer.remove()


@pytest.mark.parametrize("mode", ["append-and-lock-target", "append-and-change-target"])
def test_failed_final_write_keeps_the_typed_text(keyenv: Env, tmp_path: Path, shm: Path, mode: str) -> None:
    enc = keyenv.encrypt(b"a: 1\n", tmp_path / "s.yaml")
    env = _editor_env(keyenv, tmp_path, shm, mode, TARGET=str(enc))
    out = run_limited(["edit", str(enc)], env=env)
    assert out.returncode == 3, out.stderr.decode()
    kept = _kept(shm)
    assert len(kept) == 1 and MARKER.encode() in kept[0].read_bytes()
    assert str(kept[0]).encode() in out.stderr and b"RAM (tmpfs)" in out.stderr
    assert MARKER.encode() not in out.stderr
    assert MARKER.encode() not in enc.read_bytes()


def test_invalid_text_hint_is_truthful(keyenv: Env, tmp_path: Path, shm: Path) -> None:
    enc = keyenv.encrypt(b"a: 1\n", tmp_path / "s.yaml")
    out = run_limited(["edit", str(enc)], env=_editor_env(keyenv, tmp_path, shm, "broken"))
    assert out.returncode == 2, out.stderr.decode()
    kept = _kept(shm)
    assert len(kept) == 1 and str(kept[0]).encode() in out.stderr and b"RAM (tmpfs)" in out.stderr


def test_sigquit_removes_the_edit_buffer(keyenv: Env, tmp_path: Path, shm: Path) -> None:
    enc = keyenv.encrypt(b"a: 1\n", tmp_path / "s.yaml")
    ready = tmp_path / "ready"
    env = _editor_env(keyenv, tmp_path, shm, "sleep", READY=str(ready))
    proc = subprocess.Popen(sopskit_cmd("edit", str(enc)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=limit_child)
    try:
        deadline = time.monotonic() + 20
        while not (ready.exists() and ready.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.05)
        buffer = Path(ready.read_text().strip())
        assert buffer.exists()
        proc.send_signal(signal.SIGQUIT)
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert code == 128 + signal.SIGQUIT
    assert not buffer.parent.exists() and list(shm.iterdir()) == []


def test_secret_new_keeps_text_when_yaml_is_invalid(tmp_path: Path, shm: Path, keyenv: Env) -> None:
    _identity, recipient = generate_identity()
    repo = tmp_path / "repo"
    (repo / "flux/secrets/prod").mkdir(parents=True)
    (repo / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: ^flux/secrets/prod/\n    age: {recipient}\n")
    env = _editor_env(keyenv, tmp_path, shm, "broken")
    out = subprocess.run(sopskit_cmd("secret", "new", "prod", "db"), cwd=repo, env=env,
                         capture_output=True, timeout=60, preexec_fn=limit_child)
    assert out.returncode == 2, out.stderr.decode()
    kept = _kept(shm)
    assert len(kept) == 1 and MARKER.encode() in kept[0].read_bytes()
    assert str(kept[0]).encode() in out.stderr
    assert not (repo / "flux/secrets/prod/db.yaml").exists()
