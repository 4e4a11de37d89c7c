"""``sopskit demo``: runs on a fresh machine in seconds, shows each step, cleans up after itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import require_tool

SOPSKIT = [sys.executable, "-m", "sopskit"]


def _run(*args: str, home: Path, path: str | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(home)  # a fresh machine: no key files, no git identity
    if path is not None:
        env["PATH"] = path
    start = time.monotonic()
    proc = subprocess.run([*SOPSKIT, "demo", *args], env=env, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


def _workdir(stdout: str) -> Path:
    match = re.search(r"sopskit demo in (\S+)", stdout)
    assert match, stdout[:300]
    return Path(match.group(1))


def test_demo_runs_and_cleans_up(tmp_path: Path) -> None:
    require_tool("git")
    proc, seconds = _run("--no-guardrails", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for heading in ("A throwaway Git repository", "An age key, held in memory only", ".sops.yaml",
                    "Encrypted into", "git diff --cached", "Edit one value", "Decrypted back"):
        assert heading in out
    assert "ENC[AES256_GCM" in out and "encrypted_regex: ^(data|stringData)$" in out
    assert "AGE-SECRET-KEY-1" not in out + proc.stderr  # the private key is never shown
    edit = out.split("Edit one value", 1)[1].split("Decrypted back", 1)[0]
    changed = [line for line in edit.splitlines()
               if re.match(r"^    [-+] {4}", line)]
    assert any("password: ENC[" in line for line in changed)
    assert not any("username:" in line for line in changed)  # the unchanged value kept its ciphertext
    assert all(("password:" in line or "mac:" in line or "lastmodified:" in line) for line in changed)
    decrypted = out.split("Decrypted back", 1)[1]
    assert "password: tr0ub4dor-and-3" in decrypted and "username: demo-app" in decrypted
    assert not _workdir(out).exists()
    assert seconds < 30


def test_demo_keep(tmp_path: Path) -> None:
    require_tool("git")
    proc, _ = _run("--keep", "--no-guardrails", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    workdir = _workdir(proc.stdout)
    try:
        secret = workdir / "repo/flux/secrets/demo/db-credentials.yaml"
        assert secret.is_file()
        data = secret.read_text()
        assert "correct-horse" not in data and "tr0ub4dor" not in data
        assert not list(workdir.rglob("*.agekey")) and not list(workdir.rglob("keys.txt"))
        log = subprocess.run(["git", "log", "--oneline"], cwd=workdir / "repo", capture_output=True,
                             text=True, check=False)
        assert len(log.stdout.splitlines()) == 2
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


def test_demo_without_git(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    proc, _ = _run("--no-guardrails", home=tmp_path, path=str(bindir))
    assert proc.returncode == 0, proc.stderr
    assert "git is not installed" in proc.stdout
    assert "+    password: ENC[" in proc.stdout


def test_demo_with_guardrails(tmp_path: Path) -> None:
    require_tool("git")
    proc, _ = _run(home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "sopskit scan" in out and "sopskit policy check" in out
    guardrails = out.split("sopskit scan", 1)[1].split("sopskit review", 1)[0]
    assert guardrails.count("exit status 0") == 2
    # the last chapter: review, leak, inventory, report, none of them showing a value
    chapter = out.split("sopskit review", 1)[1]
    assert "keys changed: stringData.password" in chapter
    assert "FOUND in 1 place(s)" in chapter and "[sops]" in chapter
    assert "who can decrypt what" in chapter and "maturity level:" in chapter
    assert "correct-horse" not in chapter and "tr0ub4dor" not in chapter
    assert "AGE-SECRET-KEY" not in out + proc.stderr
    # a teammate joins: updatekeys re-wraps the file for the new recipient
    joins = out.split("A teammate joins", 1)[1]
    assert "+++ age age1" in joins and "synced with new keys" in joins
    assert "exit status 0" in joins.split("synced with new keys", 1)[1]
