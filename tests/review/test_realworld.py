"""Minimised, made-up reproductions of what ``sopskit review`` said unclearly on public repositories."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli._support import run
from tests.review._repo import make_repo


def test_without_a_sops_config_the_note_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.write_secret("secrets/db.yaml", "db", "app", {"password": "made-up-pw-31"})
    (repo.root / "outside").mkdir()
    (repo.root / "outside/x.yaml").write_text("a: 1\n")
    base = repo.commit("initial")
    repo.git("mv", "secrets/db.yaml", "outside/db.yaml")
    (repo.root / ".sops.yaml").rename(repo.root / "outside/nested.sops.yaml")
    repo.git("add", "-A")
    repo.commit("no root config")
    out = run(["review", f"{base}..HEAD", "--format", "json"], env=repo.env, cwd=repo.root)
    assert out.returncode == 0, out.stderr.decode()
    files = {f["path"]: f for f in json.loads(out.stdout)["files"]}
    assert files["outside/db.yaml"]["notes"] == [
        "no .sops.yaml at the repository root: nothing says who this path is for"]
