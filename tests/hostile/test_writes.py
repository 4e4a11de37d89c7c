"""F6-F8, F11: in-place and --output writes leave no plaintext behind, follow symlinks, refuse
read-only targets, keep owner/group, report broken hard links and never lose an update."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.errors import OutputError
from sopskit.ops import files
from tests.hostile._support import Env, run_limited

PLAIN = b"token: MARKER-PLAINTEXT-1234\nother: value\n"

# a sopskit process that pauses just before renaming its temp file into place, so a signal
# can be sent while the temp file (plaintext, for decrypt -i) exists under its name
_PAUSING_CHILD = r"""
import os, sys, time
real = os.replace
def paused(src, dst, *a, **k):
    if str(src).endswith(".sopskit-tmp"):
        mode = os.stat(src).st_mode & 0o777
        sys.stderr.write(f"PAUSED {mode:o}\n"); sys.stderr.flush()
        time.sleep(60)
    return real(src, dst, *a, **k)
os.replace = paused
from sopskit.cli.main import main
main(sys.argv[1:])
"""


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(files.TEMP_SUFFIX))


def _pause_and_signal(args: list[str], env: dict[str, str], signum: int) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-c", _PAUSING_CHILD, *args], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert line.startswith("PAUSED"), line
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stderr.close()
    return code, line.split()[1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT])
@pytest.mark.parametrize("how", ["in-place", "output"])
def test_signal_during_plaintext_write_leaves_no_temp_file(keyenv: Env, tmp_path: Path, signum: int,
                                                           how: str) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    enc.chmod(0o640)
    before = enc.read_bytes()
    if how == "in-place":
        args, written = ["decrypt", "-i", str(enc)], enc
    else:
        written = tmp_path / "out.yaml"
        written.write_bytes(b"old\n")
        written.chmod(0o640)
        args = ["decrypt", "--output", str(written), str(enc)]
    code, mode = _pause_and_signal(args, keyenv.env, signum)
    # the temp file had the target's mode from the start, not mkstemp's or the umask's
    assert mode == "640"
    assert _leftovers(tmp_path) == []
    assert code == (130 if signum == signal.SIGINT else -signum)
    assert enc.read_bytes() == before
    if how == "output":
        assert written.read_bytes() == b"old\n"
    assert not any(b"MARKER-PLAINTEXT" in p.read_bytes() for p in tmp_path.iterdir() if p.is_file())


def test_in_place_writes_through_a_symlink(keyenv: Env, tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(PLAIN)
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    out = run_limited(["encrypt", "-i", "--age", keyenv.key.recipient, str(link)], env=keyenv.env)
    assert out.returncode == 0, out.stderr.decode()
    assert link.is_symlink() and os.readlink(link) == "real.yaml"
    assert b"MARKER-PLAINTEXT" not in real.read_bytes() and b"sops:" in real.read_bytes()
    out = run_limited(["set", str(link), '["other"]', '"changed"'], env=keyenv.env)
    assert out.returncode == 0, out.stderr.decode()
    assert link.is_symlink()
    assert b"changed" in keyenv.decrypt(real)


def test_read_only_target_is_refused_with_exit_3(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    enc.chmod(0o400)
    before = enc.read_bytes()
    for args in (["set", str(enc), '["other"]', '"x"'], ["decrypt", "-i", str(enc)]):
        out = run_limited(args, env=keyenv.env)
        assert out.returncode == 3, out.stderr.decode()
        assert b"read-only" in out.stderr
        assert enc.read_bytes() == before
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_and_group_are_kept(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    os.chown(enc, 65534, 65534)
    out = run_limited(["set", str(enc), '["other"]', '"x"'], env=keyenv.env)
    assert out.returncode == 0, out.stderr.decode()
    info = enc.stat()
    assert (info.st_uid, info.st_gid) == (65534, 65534)


def test_broken_hard_link_is_reported(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(PLAIN, tmp_path / "s.yaml")
    os.link(enc, tmp_path / "other-name.yaml")
    out = run_limited(["set", str(enc), '["other"]', '"x"'], env=keyenv.env)
    assert out.returncode == 0, out.stderr.decode()
    assert b"warning:" in out.stderr and b"hard link" in out.stderr


def test_concurrent_set_never_loses_an_update(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(b"base: 0\n", tmp_path / "s.yaml")
    writers = 6
    procs = [
        subprocess.Popen([sys.executable, "-m", "sopskit", "set", str(enc), f'["k{i}"]', f'"v{i}"'],
                         env=keyenv.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in range(writers)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    for p in procs:
        assert p.stderr is not None
        p.stderr.close()
    final = keyenv.decrypt(enc)
    for i, code in enumerate(codes):
        if code == 0:  # an update that reported success must be in the file
            assert f"k{i}: v{i}".encode() in final, (codes, final)
    assert codes.count(0) == writers  # the lock serialises them: every writer succeeds


def test_change_between_read_and_write_is_detected(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"one")
    assert files.read_for_update(target) == b"one"
    # a writer that ignores the lock (an editor, another tool) changes the file
    os.replace(_write(tmp_path / "x", b"two"), target)
    with pytest.raises(files.ConcurrentChangeError) as caught:
        files.atomic_write(target, b"three")
    assert isinstance(caught.value, OutputError)
    assert target.read_bytes() == b"two"
    files.release(target)
    files.atomic_write(target, b"three")
    assert target.read_bytes() == b"three"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_output_to_a_character_device_is_written_directly(tmp_path: Path) -> None:
    files.atomic_write("/dev/null", b"data")  # no rename over a device, no temp file in /dev
    assert not any(name.endswith(files.TEMP_SUFFIX) for name in os.listdir("/dev"))


def test_repo_init_gitignore_covers_the_temp_file_pattern() -> None:
    from fnmatch import fnmatch

    from sopskit.ops.scaffold import GITIGNORE_GUARDS

    example = f".secret.yaml.0123abcd{files.TEMP_SUFFIX}"  # the shape atomic_write names
    assert any(fnmatch(example, guard) for guard in GITIGNORE_GUARDS)
