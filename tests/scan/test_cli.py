"""``sopskit scan`` through the real entry point: exit codes, formats, baseline, staged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import require_tool

TOKEN = "ghp_" + "Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7"
_CACHE = tempfile.mkdtemp(prefix="sopskit-scan-cache-")


def sopskit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from sopskit.cli.main import main; sys.argv[0] = 'sopskit'; main()"
    env = {**os.environ, "SOPSKIT_SCAN_CACHE": _CACHE}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_GLOBAL": "/dev/null"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    require_tool("git")
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_exit_0_without_findings(repo: Path) -> None:
    result = sopskit("scan", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_exit_1_and_json_shape_without_the_secret(repo: Path) -> None:
    (repo / "leak.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    result = sopskit("scan", "--format", "json", cwd=repo)
    assert result.returncode == 1
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    doc = json.loads(result.stdout)
    (finding,) = doc["findings"]
    assert {k: finding[k] for k in ("rule_id", "path", "line", "commit", "secret")} == {
        "rule_id": "github-token", "path": "leak.env", "line": 1, "commit": None, "secret": "<redacted>"}
    import hashlib
    assert finding["fingerprint"] == "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()
    assert doc["stats"]["findings"] == 1 and doc["stats"]["items_scanned"] == 2


def test_ignored_files_are_not_scanned(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.local\n")
    (repo / "dev.local").write_text(f"t={TOKEN}\n")
    assert sopskit("scan", cwd=repo).returncode == 0


def test_exit_2_on_error(repo: Path) -> None:
    (repo / "bad.toml").write_text("not [ toml")
    result = sopskit("scan", "--config", "bad.toml", cwd=repo)
    assert result.returncode == 2 and "not valid TOML" in result.stderr
    assert sopskit("scan", "does-not-exist", cwd=repo).returncode == 2


def test_sarif_output_file(repo: Path) -> None:
    (repo / "leak.env").write_text(f"\nGITHUB_TOKEN={TOKEN}\n")
    result = sopskit("scan", "--format", "sarif", "--output", "out.sarif", cwd=repo)
    assert result.returncode == 1 and result.stdout == ""
    log = json.loads((repo / "out.sarif").read_text())
    assert log["version"] == "2.1.0" and "sarif" in log["$schema"]
    run = log["runs"][0]
    (res,) = run["results"]
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"] == "github-token"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert TOKEN not in (repo / "out.sarif").read_text()


def test_text_output_has_no_colour_when_not_a_tty(repo: Path) -> None:
    (repo / "leak.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    result = sopskit("scan", cwd=repo)
    assert result.returncode == 1 and "\x1b[" not in result.stdout and "leak.env:1" in result.stdout
    assert "\r" not in result.stderr  # no progress bar without a TTY


def test_baseline_round_trip(repo: Path) -> None:
    (repo / "leak.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    assert sopskit("scan", "--write-baseline", "base.json", cwd=repo).returncode == 1
    assert TOKEN not in (repo / "base.json").read_text()
    result = sopskit("scan", "--baseline", "base.json", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["stats"]["suppressed"] == {"baseline": 1}
    (repo / "new.env").write_text("NPM=npm_" + "qA7wS8eD9rF0tG1y" + "W2e3R4t5Y6u7I8o9P0a1\n")
    assert sopskit("scan", "--baseline", "base.json", cwd=repo).returncode == 1


def test_staged_scans_the_index_not_the_work_tree(repo: Path) -> None:
    (repo / "leak.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    _git(repo, "add", "leak.env")
    (repo / "leak.env").write_text("GITHUB_TOKEN=removed-before-commit\n")
    result = sopskit("scan", "--staged", "--format", "json", cwd=repo)
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["path"] == "leak.env" and finding["commit"] is None
    assert sopskit("scan", cwd=repo).returncode == 0


def test_history_outside_a_repository_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = sopskit("scan", "--history", "plain", cwd=tmp_path)
    assert result.returncode == 2


def test_help_teaches_with_examples(tmp_path: Path) -> None:
    result = sopskit("scan", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "examples:" in result.stdout and "--write-baseline" in result.stdout
