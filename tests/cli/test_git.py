"""The git drivers against a real git repository: merge two branches of an encrypted file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli._support import SOPSKIT_SCRIPT, base_env, decrypt, encrypt_json, new_age_key, run
from tests.cli.test_edit import find_marker
from tests.conftest import require_tool


class Repo:
    def __init__(self, tmp: Path) -> None:
        require_tool("git")
        (tmp / "home").mkdir()
        key = new_age_key(tmp)
        self.env = base_env(tmp / "home", SOPS_AGE_KEY_FILE=str(key.key_file), GIT_AUTHOR_NAME="t",
                            GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
        self.dir = tmp / "repo"
        self.dir.mkdir()
        self.git("init", "-q", "-b", "main")
        setup = run(["git", "setup", "--apply", "--command", str(SOPSKIT_SCRIPT)], env=self.env, cwd=self.dir)
        assert setup.returncode == 0, setup.stderr
        self.file = encrypt_json({"a": "base-a", "b": "base-b", "c": "base-c"}, self.dir / "s.enc.json",
                                 key.recipient, self.env)
        self.git("add", ".")
        self.git("commit", "-qm", "base")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              check=check)

    def commit_set(self, branch: str, key: str, value: str, *, create: bool = True) -> None:
        self.git("checkout", "-q", *(["-b"] if create else []), branch)
        out = run(["set", str(self.file), f'["{key}"]', json.dumps(value)], env=self.env)
        assert out.returncode == 0, out.stderr
        self.git("commit", "-qam", f"{branch}: {key}")

    def plain(self) -> dict[str, object]:
        return json.loads(decrypt(self.file, self.env))


@pytest.fixture()
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_setup_writes_gitattributes_and_config(repo: Repo) -> None:
    assert "*.enc.json diff=sopskit merge=sopskit" in (repo.dir / ".gitattributes").read_text()
    assert "git merge-driver %O %A %B %P" in repo.git("config", "merge.sopskit.driver").stdout
    printed = run(["git", "setup"], env=repo.env, cwd=repo.dir)
    assert b"merge.sopskit.driver" in printed.stdout


def test_merge_of_different_keys_succeeds(repo: Repo) -> None:
    repo.commit_set("feature", "a", "feature-a")
    repo.commit_set("main", "b", "main-b", create=False)
    merged = repo.git("merge", "-q", "--no-edit", "feature", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert repo.plain() == {"a": "feature-a", "b": "main-b", "c": "base-c"}
    assert repo.git("status", "--porcelain").stdout == ""


def test_merge_of_same_key_conflicts_without_plaintext_on_disk(repo: Repo) -> None:
    repo.commit_set("feature", "a", "SECRET-THEIRS-1b9")
    repo.commit_set("main", "a", "SECRET-OURS-77c", create=False)
    merged = repo.git("merge", "--no-edit", "feature", check=False)
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout
    plain = repo.plain()  # still a valid, decryptable SOPS file
    assert plain["a"] == {"<<<<<<< ours": "SECRET-OURS-77c", "||||||| base": "base-a",
                          ">>>>>>> theirs": "SECRET-THEIRS-1b9"}
    for marker in (b"SECRET-THEIRS-1b9", b"SECRET-OURS-77c"):
        assert find_marker(marker, [repo.dir]) == []
    # nor in any git object (objects are compressed, so read them through git)
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo.dir,
                             capture_output=True, check=True).stdout
    assert b"ENC[AES256_GCM" in objects
    assert b"SECRET-THEIRS-1b9" not in objects and b"SECRET-OURS-77c" not in objects


def test_textconv_shows_plaintext_diff(repo: Repo) -> None:
    repo.commit_set("main", "c", "changed-c", create=False)
    diff = repo.git("log", "-p", "-1", "--textconv")
    assert '+\t"c": "changed-c"' in diff.stdout
    assert '-\t"c": "base-c"' in diff.stdout


def test_textconv_of_undecryptable_file_shows_it_encrypted(repo: Repo, tmp_path: Path) -> None:
    env = {**repo.env, "SOPS_AGE_KEY_FILE": str(tmp_path / "nope.txt")}
    out = run(["git", "textconv", str(repo.file)], env=env)
    assert out.returncode == 0
    assert out.stdout == repo.file.read_bytes()
    assert b"shown encrypted" in out.stderr
