"""Huge and binary content: skipped with bounded memory, and said so in the stats."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sopskit.scan import ScanOptions, scan
from tests.conftest import require_tool

TOKEN = "ghp_" + "Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7"


def test_large_and_binary_files_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "big.log").write_bytes(b"x" * 5000 + f" {TOKEN}\n".encode())
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\0\0" + TOKEN.encode())
    (tmp_path / "ok.txt").write_text(f"{TOKEN}\n")
    report = scan(ScanOptions(paths=[tmp_path], max_size=4096))
    assert [f.path for f in report.findings] == ["ok.txt"]
    assert report.stats.skipped == {"too-large": 1, "binary": 1}


def test_history_skips_large_blobs_without_reading_them_whole(tmp_path: Path) -> None:
    require_tool("git")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_GLOBAL": "/dev/null"}
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, env=env, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "huge.txt").write_bytes(os.urandom(3_000_000).hex().encode() + f" {TOKEN}".encode())
    (tmp_path / "small.txt").write_text(f"{TOKEN}\n")
    run("add", ".")
    run("commit", "-q", "-m", "x")
    report = scan(ScanOptions(paths=[tmp_path], worktree=False, history=True, max_size=1_000_000))
    assert [f.path for f in report.findings] == ["small.txt"]
    assert report.stats.skipped == {"too-large": 1}
