"""The repository walker: which files of a directory a command looks at.

Every command that looks at "the files of the repository" (scan of the work tree, policy and
``flux validate``, doctor, inventory, review build, Argo CD discovery, updatekeys/rotate on a
directory, leak search, scaffolding) lists them here, so that they all agree on three things:

* **which files**: inside a Git work tree, the files Git would commit: tracked plus untracked
  files that are not ignored (an ignored ``age.agekey`` is the guard working, not something to
  check). Tracked files deleted from the work tree are left out (there is nothing to read).
  Outside Git (a plain directory, an export, a bare checkout's copy) every file is taken.
  :func:`list_repo` with ``include_ignored`` also takes ignored files, and
  :func:`uncommitted_files` lists what leak search needs: every work-tree file whose content
  is not already a committed blob, ignored ones included (an ignored ``.env`` or a decrypted
  copy is exactly where a leaked value lingers in a clone).
* **one skip list**, :data:`SKIP_DIRS`, applied in both modes: other version-control data,
  sopskit's own state, and dependency or tool caches. They hold third-party files, never the
  repository's secrets, and walking a ``node_modules`` or ``.venv`` costs more than the rest.
* **regular files only**: FIFOs, sockets and devices are never listed (opening a FIFO blocks
  until a writer comes; a device may never end), and neither are symlinks inside the tree (a
  link may lead out of the repository, Flux refuses to follow them, and a link to a directory
  can loop). The *root* given by the user may itself be, or pass through, a symlink: it is
  followed, since that is the user naming the directory (issue 8).

Listings are sorted by their POSIX relative path so that reports and runs are repeatable.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: directories no repository walk descends into: other VCS data, sopskit's own state, and
#: dependency or tool caches (they hold third-party files, never the repository's secrets)
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".sopskit", ".venv", "venv", "node_modules", ".terraform", "__pycache__",
    ".mypy_cache", ".tox",
})

#: what leak search skips: only version-control data and sopskit's own state. A leaked value
#: may linger anywhere a tool copied it (``.terraform/`` keeps backend credentials, a ``.venv``
#: an installed package's test fixture), and a search after a leak must not assume otherwise
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".sopskit"})

#: how long one ``git ls-files`` may take before the directory is walked without Git
_GIT_TIMEOUT = 120


@dataclass(frozen=True)
class Listing:
    """The files of one walk: relative POSIX paths below ``root``, sorted.

    ``in_git`` says whether Git chose them (tracked plus untracked, ignored per the call) or
    the directory was walked plainly (every regular file). ``passed_over`` names the symlinks,
    FIFOs, sockets and devices the walk met and left out, so that a command can count them:
    they are never to be opened."""

    root: Path
    files: tuple[str, ...]
    in_git: bool
    passed_over: tuple[str, ...] = ()

    def paths(self) -> list[Path]:
        """The files as paths (``root`` joined, so a root given through a symlink stays so)."""
        return [self.root / rel for rel in self.files]


def is_regular(path: Path) -> bool:
    """A regular file, not followed through a symlink: what a walk may open and read to the end.

    False for symlinks, FIFOs, sockets, devices, directories and paths that no longer exist."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def skipped(rel: str, skip: frozenset[str] = SKIP_DIRS) -> bool:
    """True if the relative path lies in a ``skip`` directory (at any depth)."""
    return any(part in skip for part in PurePosixPath(rel).parts[:-1])


def walk_tree(root: Path, *, skip: frozenset[str] = SKIP_DIRS) -> Iterator[Path]:
    """Every regular file below ``root`` walked without Git, in a stable order (each
    directory's files by name, then its sub-directories by name), skipping :data:`SKIP_DIRS`
    (leak search passes :data:`VCS_DIRS`).

    Symlinks inside the tree are neither listed nor descended into; ``root`` itself may be a
    symlink to a directory (``os.walk`` lists the directory it names)."""
    return (path for path, regular in _walk(root, skip) if regular)


def _walk(root: Path, skip: frozenset[str] = SKIP_DIRS) -> Iterator[tuple[Path, bool]]:
    """(path, is it a regular file) for every name below ``root`` that is not a directory."""
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            path = Path(directory) / name
            yield path, is_regular(path)


def list_repo(root: Path, *, include_ignored: bool = False) -> Listing:
    """The files under ``root`` a command should look at (see the module docstring).

    Inside a Git work tree Git lists them (``root`` may be a sub-directory: only files below it
    are listed, relative to it); elsewhere, or if Git is missing or fails, :func:`walk_tree`."""
    args = ["--cached", "--others"] + ([] if include_ignored else ["--exclude-standard"])
    listed = _git_ls_files(root, args)
    if listed is None:
        walked = [(path.relative_to(root).as_posix(), regular) for path, regular in _walk(root)]
        return Listing(root, tuple(sorted(rel for rel, regular in walked if regular)), in_git=False,
                       passed_over=tuple(sorted(rel for rel, regular in walked if not regular)))
    return _keep(root, listed, in_git=True)


def repo_files(root: Path, *, include_ignored: bool = False) -> list[Path]:
    """:func:`list_repo`'s files as paths below ``root``."""
    return list_repo(root, include_ignored=include_ignored).paths()


def untracked_files(root: Path) -> list[str]:
    """Untracked files that are not ignored, relative to ``root``: what a work-tree review adds
    to ``git diff``'s changed paths. Empty outside a work tree."""
    listed = _git_ls_files(root, ["--others", "--exclude-standard"])
    return list(_keep(root, listed, in_git=True).files) if listed is not None else []


def uncommitted_files(repo: Path) -> Listing:
    """Work-tree files whose content Git does not hold as committed: modified, untracked and
    *ignored* ones below ``repo``, relative to the top of the work tree (leak search reads the
    committed ones as blobs already). An empty listing for a bare repository or outside Git.
    Only :data:`VCS_DIRS` are skipped: tool directories are searched too."""
    top = _git_output(repo, ["rev-parse", "--show-toplevel"])
    listed = _git_output(repo, ["ls-files", "-z", "--full-name", "--others", "--modified"])
    if top is None or not top.strip() or listed is None:
        return Listing(repo, (), in_git=False)
    root = Path(os.fsdecode(top.strip()))
    return _keep(root, (os.fsdecode(raw) for raw in listed.split(b"\0") if raw), in_git=True, skip=VCS_DIRS)


def _keep(root: Path, rels: Iterable[str], *, in_git: bool, skip: frozenset[str] = SKIP_DIRS) -> Listing:
    """Git's names sorted, each once, minus skipped directories; regular files are kept,
    symlinks and special files are passed over, and what is gone (deleted tracked files) or a
    directory (a submodule, a nested repository) is dropped."""
    files: set[str] = set()
    other: set[str] = set()
    for rel in rels:
        if skipped(rel, skip):
            continue
        try:
            mode = os.lstat(root / rel).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode):
            files.add(rel)
        elif not stat.S_ISDIR(mode):
            other.add(rel)
    return Listing(root, tuple(sorted(files)), in_git=in_git, passed_over=tuple(sorted(other)))


def _git_ls_files(root: Path, args: list[str]) -> list[str] | None:
    """``git ls-files`` below ``root`` (paths relative to it), or None outside a work tree."""
    out = _git_output(root, ["ls-files", "-z", *args])
    if out is None:
        return None
    return [os.fsdecode(raw) for raw in out.split(b"\0") if raw]


def _git_output(root: Path, args: list[str]) -> bytes | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False,
                              timeout=_GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


__all__ = [
    "SKIP_DIRS",
    "VCS_DIRS",
    "Listing",
    "is_regular",
    "list_repo",
    "repo_files",
    "skipped",
    "uncommitted_files",
    "untracked_files",
    "walk_tree",
]
