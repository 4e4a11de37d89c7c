"""The one repository walker (:mod:`sopskit.walk`): which files, which are skipped, in what order."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from sopskit import walk
from sopskit.walk import SKIP_DIRS, list_repo, repo_files, uncommitted_files, untracked_files, walk_tree


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                   env=env, check=True, capture_output=True)


def _write(root: Path, rel: str, text: str = "x\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _specials(root: Path) -> None:
    """A FIFO, a socket, a link to a file, a link to a directory and a dangling link."""
    os.mkfifo(root / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock"))
    (root / "link").symlink_to("a.txt")
    (root / "dirlink").symlink_to("sub", target_is_directory=True)
    (root / "dangling").symlink_to("nowhere")


def _tree(root: Path) -> None:
    for rel in ("a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt", "a.d/e.txt"):
        _write(root, rel)
    for name in SKIP_DIRS:
        _write(root, f"{name}/skipped.txt")
        _write(root, f"sub/{name}/skipped.txt")


EXPECTED = ["a.d/e.txt", "a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt"]


def test_plain_directory_skips_tool_directories_and_special_files(tmp_path: Path) -> None:
    _tree(tmp_path)
    _specials(tmp_path)
    listing = list_repo(tmp_path)
    assert not listing.in_git
    assert list(listing.files) == EXPECTED
    assert list(listing.passed_over) == ["dangling", "link", "pipe", "sock"]
    assert repo_files(tmp_path) == [tmp_path / rel for rel in EXPECTED]
    # the lazy plain walk: each directory's files, then its sub-directories, by name
    assert [p.relative_to(tmp_path).as_posix() for p in walk_tree(tmp_path)] == [
        "a.txt", "b.txt", "a.d/e.txt", "sub/c.txt", "sub/deeper/d.txt"]


def test_git_work_tree_lists_what_a_commit_would_hold(tmp_path: Path) -> None:
    _tree(tmp_path)
    _write(tmp_path, ".gitignore", "*.key\nbuild/\n")
    _write(tmp_path, "age.key")
    _write(tmp_path, "build/out.txt")
    _write(tmp_path, "gone.txt")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-f", "a.txt", "gone.txt", ".gitignore", "node_modules/skipped.txt")
    _git(tmp_path, "commit", "-qm", "init")
    (tmp_path / "gone.txt").unlink()  # deleted but still tracked: nothing to read
    _specials(tmp_path)
    listing = list_repo(tmp_path)
    assert listing.in_git
    # tracked and untracked-not-ignored; a tracked file in a skipped directory is skipped too
    assert list(listing.files) == [".gitignore", *EXPECTED]
    assert "link" in listing.passed_over and "pipe" not in listing.files
    with_ignored = list_repo(tmp_path, include_ignored=True)
    assert list(with_ignored.files) == sorted([".gitignore", "age.key", "build/out.txt", *EXPECTED])


def test_sub_directory_of_a_work_tree_is_listed_relative_to_itself(tmp_path: Path) -> None:
    _tree(tmp_path)
    _git(tmp_path, "init", "-q")
    listing = list_repo(tmp_path / "sub")
    assert listing.in_git and list(listing.files) == ["c.txt", "deeper/d.txt"]


@pytest.mark.parametrize("in_git", [False, True])
def test_root_given_through_a_symlink_is_followed(tmp_path: Path, in_git: bool) -> None:
    """Issue 8: the user may name the directory through a link; links inside are not followed."""
    real = tmp_path / "real"
    _tree(real)
    (real / "sub" / "outside").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _write(tmp_path, "elsewhere/f.txt")
    if in_git:
        _git(real, "init", "-q")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    listing = list_repo(tmp_path / "alias")
    assert listing.in_git is in_git
    assert list(listing.files) == EXPECTED
    assert listing.paths()[0] == tmp_path / "alias" / EXPECTED[0]
    assert [p.name for p in walk_tree(tmp_path / "alias")] == ["a.txt", "b.txt", "e.txt", "c.txt", "d.txt"]


def test_without_git_on_path_the_directory_is_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    _git(tmp_path, "init", "-q")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    listing = list_repo(tmp_path)
    assert not listing.in_git and list(listing.files) == EXPECTED


def test_uncommitted_files_include_ignored_but_not_committed_ones(tmp_path: Path) -> None:
    _write(tmp_path, ".gitignore", ".env\n.venv/\n")
    _write(tmp_path, "kept.txt")
    _write(tmp_path, "changed.txt")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    _write(tmp_path, "changed.txt", "y\n")
    _write(tmp_path, ".env")
    _write(tmp_path, "new/file.txt")
    _write(tmp_path, ".venv/lib.txt")
    os.mkfifo(tmp_path / "pipe")
    listing = uncommitted_files(tmp_path / "new")
    assert listing.root == tmp_path.resolve()
    # asked from a sub-directory: only what lies below it, named from the top
    assert list(listing.files) == ["new/file.txt"]
    # a tool directory is searched too (a leaked value may have been copied there)
    assert list(uncommitted_files(tmp_path).files) == [".env", ".venv/lib.txt", "changed.txt", "new/file.txt"]
    assert untracked_files(tmp_path) == ["new/file.txt"]


def test_outside_git_nothing_is_uncommitted(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert uncommitted_files(tmp_path).files == ()
    assert untracked_files(tmp_path) == []


def test_skipped_names_directories_only() -> None:
    assert walk.skipped("node_modules/x.js") and walk.skipped("a/.git/config")
    assert not walk.skipped("node_modules") and not walk.skipped("a/venv.txt")
