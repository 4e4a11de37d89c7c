"""Where content comes from: the working tree, the index, and every blob in history.

Git is driven through its plumbing commands (``ls-files``, ``log --raw``, ``cat-file
--batch``) rather than a library: they are what git itself uses, stream without holding the
repository in memory, and leave decompression to git's C code. History is enumerated from
``git log --raw`` over all refs (branches, tags, every stash entry) so each blob is known
with the commits and paths that introduce it; the blob itself is then read once.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sopskit.errors import InputError
from sopskit.gitio import NULL_OID, git, parse_raw_line, tree_blobs
from sopskit.scan.findings import CommitRef
from sopskit.walk import list_repo

_DRAIN_CHUNK = 1 << 20


def git_root(path: Path) -> Path | None:
    """The top of the work tree containing ``path``, or None outside a repository."""
    start = path if path.is_dir() else path.parent
    try:
        proc = subprocess.run(["git", "-C", str(start), "rev-parse", "--show-toplevel"],
                              capture_output=True, check=False)
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    return Path(os.fsdecode(proc.stdout.strip()))


def bare_git_dir(path: Path) -> Path | None:
    """The repository directory when ``path`` is (inside) a bare repository, else None."""
    start = path if path.is_dir() else path.parent
    try:
        proc = subprocess.run(["git", "-C", str(start), "rev-parse", "--is-bare-repository", "--absolute-git-dir"],
                              capture_output=True, check=False)
    except FileNotFoundError:
        return None
    out = proc.stdout.decode("utf-8", "replace").split("\n")
    if proc.returncode != 0 or out[0].strip() != "true" or len(out) < 2:
        return None
    return Path(out[1].strip())


@dataclass(frozen=True)
class FileItem:
    """A working-tree file: where to read it, and the path to report."""

    absolute: Path
    display: str


def worktree_files(targets: Iterable[Path]) -> Iterator[FileItem]:
    """Files under ``targets``, listed by the project's one walker (:func:`sopskit.walk.list_repo`):
    in a repository tracked plus untracked-not-ignored, else all; the same skipped directories
    either way. A file named directly is always taken."""
    for target in targets:
        if not target.absolute().exists():
            raise InputError(f"no such file or directory: {target.absolute()}")
        # git reports the real path of the work tree, so a path reached through a symlink is
        # resolved first (else it would not be "inside" the repository git names)
        target = target.resolve()
        root = git_root(target)
        if target.is_file():
            display = target.relative_to(root).as_posix() if root else target.name
            yield FileItem(target, display)
            continue
        listing = list_repo(target)
        # in a repository, report paths from its top (as git and the history scan name them)
        prefix = target.relative_to(root).as_posix() if root is not None and listing.in_git else "."
        # symlinks and special files the walk passed over go along only to be counted as
        # skipped: the scanner never opens them
        for rel in (*listing.files, *listing.passed_over):
            yield FileItem(target / rel, rel if prefix == "." else f"{prefix}/{rel}")


def staged_blobs(repo: Path) -> dict[str, list[str]]:
    """Blob id -> paths for every entry in the index (``--staged``)."""
    blobs: dict[str, list[str]] = {}
    for entry in git(repo, "ls-files", "-s", "-z").split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, oid, _stage = meta.decode().split()
        if mode != "160000":
            blobs.setdefault(oid, []).append(os.fsdecode(path))
    return blobs


@dataclass
class History:
    """Every blob reachable from any ref, with where and when it was introduced."""

    blobs: dict[str, list[str]] = field(default_factory=dict)  # oid -> paths
    introduced: dict[tuple[str, str], list[CommitRef]] = field(default_factory=dict)
    commits: int = 0


def _start_points(repo: Path) -> list[str]:
    """``--all`` covers refs (the top stash too); older stash entries live only in the reflog."""
    stash = git(repo, "reflog", "show", "--format=%H", "refs/stash", "--") if _has_stash(repo) else b""
    return ["--all", *stash.decode().split()]


def _has_stash(repo: Path) -> bool:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "refs/stash"],
                          capture_output=True, check=False)
    return proc.returncode == 0


def _parse_raw_line(line: str) -> tuple[str, str] | None:
    """(new blob id, path) from one ``--raw`` line; None for deletions, submodules, bad lines."""
    parsed = parse_raw_line(line)
    if parsed is None or parsed[0] == NULL_OID:
        return None
    return parsed[0], parsed[1]


def _ref_blobs(repo: Path, history: History) -> None:
    """Blobs reachable from refs that point straight at a tree or blob (rare tags)."""
    out = git(repo, "for-each-ref", "--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname) "
               "%(refname)")
    for line in out.decode().splitlines():
        parts = line.split(" ")
        kind, oid, refname = parts[0], parts[1], parts[-1]
        if kind == "tag" and len(parts) == 5:
            kind, oid = parts[2], parts[3]
        if kind == "blob":
            history.blobs.setdefault(oid, []).append(refname)
        elif kind == "tree":
            for boid, path in tree_blobs(repo, oid):
                history.blobs.setdefault(boid, []).append(path)


def history_blobs(repo: Path) -> History:
    """Enumerate history: one ``git log --raw`` pass over all refs and stash entries."""
    history = History()
    out = git(repo, "log", *_start_points(repo), "--raw", "--no-abbrev", "--no-renames", "-c",
              "--format=%x01%H %aI")
    commit: CommitRef | None = None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("\x01"):
            sha, _, date = line[1:].partition(" ")
            commit = CommitRef(sha, date)
            history.commits += 1
        elif line.startswith(":") and commit is not None:
            parsed = _parse_raw_line(line)
            if parsed is None:
                continue
            oid, path = parsed
            paths = history.blobs.setdefault(oid, [])
            if path not in paths:
                paths.append(path)
            history.introduced.setdefault((oid, path), []).append(commit)
    _ref_blobs(repo, history)
    return history


class BlobReader:
    """A long-lived ``git cat-file --batch``: blobs by id, with bounded memory.

    Blobs above ``max_size`` are drained in chunks and reported as skipped, never held.
    """

    def __init__(self, repo: Path) -> None:
        self._proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read_many(self, oids: list[str],
                  max_size: int) -> Iterator[tuple[str, bytes | None, int, str | None]]:
        """Yield (oid, data or None, size, skip reason or None) in the order given."""
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        feeder = threading.Thread(target=self._feed, args=(stdin, oids), daemon=True)
        feeder.start()
        for oid in oids:
            header = stdout.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                yield oid, None, 0, "missing"
                continue
            size = int(header[2])
            if header[1] != b"blob":
                self._drain(stdout, size + 1)
                yield oid, None, size, "not-a-blob"
            elif size > max_size:
                self._drain(stdout, size + 1)
                yield oid, None, size, "too-large"
            else:
                data = stdout.read(size)
                stdout.read(1)
                yield oid, data, size, None
        feeder.join()

    @staticmethod
    def _feed(stdin: IO[bytes], names: list[str]) -> None:
        stdin.write("".join(n + "\n" for n in names).encode())
        stdin.flush()

    @staticmethod
    def _drain(stream: IO[bytes], n: int) -> None:
        while n > 0:
            n -= len(stream.read(min(n, _DRAIN_CHUNK)))

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
