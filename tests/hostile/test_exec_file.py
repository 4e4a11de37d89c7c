"""F5: exec-file forwards TERM/HUP/INT/QUIT to the command and removes the plaintext file or
FIFO afterwards; FIFO mode never leaves the command blocked; --background keeps the file until
the command has read it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile._support import Env, limit_child, sopskit_cmd

PLAIN = b"token: MARKER-EXEC-5678\n"


def _wait_for(path: Path, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT])
@pytest.mark.parametrize("fifo", [True, False])
def test_signal_is_forwarded_and_the_file_removed(keyenv: Env, tmp_path: Path, signum: int,
                                                  fifo: bool) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    told = tmp_path / "path.txt"
    # the command never opens the FIFO: without forwarding it would outlive sopskit
    command = f"echo {{}} > {told}; exec sleep 60"
    flags = [] if fifo else ["--no-fifo"]
    proc = subprocess.Popen(sopskit_cmd("exec-file", *flags, str(enc), command), env=keyenv.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit_child)
    try:
        buffer = Path(_wait_for(told))
        assert buffer.exists()
        started = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=20)
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert code == 128 + signum  # the command's status: it was stopped by the same signal
    assert not buffer.exists() and not buffer.parent.exists()


def test_fifo_reader_gets_the_plaintext_once(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    out = subprocess.run(sopskit_cmd("exec-file", str(enc), "cat {}"), env=keyenv.env,
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    assert b"MARKER-EXEC-5678" in out.stdout


def test_background_keeps_the_file_until_the_command_read_it(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    told, copy = tmp_path / "path.txt", tmp_path / "copy.txt"
    command = f"sleep 1; cat {{}} > {copy}; echo {{}} > {told}"
    started = time.monotonic()
    out = subprocess.run(sopskit_cmd("exec-file", "--background", "--no-fifo", str(enc), command),
                         env=keyenv.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         timeout=30)
    assert out.returncode == 0
    assert time.monotonic() - started < 10
    buffer = Path(_wait_for(told))
    assert b"MARKER-EXEC-5678" in copy.read_bytes()
    deadline = time.monotonic() + 20
    while buffer.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not buffer.parent.exists()  # removed once the command ended


def test_no_fifo_file_removed_after_normal_exit(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    told = tmp_path / "path.txt"
    out = subprocess.run(sopskit_cmd("exec-file", "--no-fifo", str(enc), f"echo {{}} > {told}; exit 7"),
                         env=keyenv.env, capture_output=True, timeout=30)
    assert out.returncode == 7
    assert not Path(told.read_text().strip()).exists()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("FIFO and signal semantics are tested on Linux")
