"""File bytes and changed paths at Git revisions, through git's plumbing.

``review`` compares two versions of a repository: two commits (``BASE..HEAD``), or a commit and
the working tree (no HEAD). Only what a review needs is here: the list of changed paths and the
bytes of one path at one side.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sopskit.errors import InputError
from sopskit.walk import untracked_files

#: files larger than this are not read (a SOPS file is small; a blob this big is not a secret)
MAX_BLOB_BYTES = 8 * 1024 * 1024


def _git(root: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed or not on PATH") from None
    if proc.returncode not in ok_codes:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed: {lines[-1] if lines else proc.returncode}")
    return proc


def repo_root(start: Path) -> Path:
    proc = _git(start, "rev-parse", "--show-toplevel")
    return Path(proc.stdout.decode().strip())


@dataclass(frozen=True)
class Range:
    """``base`` is a commit; ``head`` is a commit or None for the working tree."""

    base: str
    head: str | None

    @property
    def label(self) -> str:
        return f"{self.base}..{self.head or '(working tree)'}"


def parse_range(root: Path, text: str | None) -> Range:
    """``A..B`` (or ``A...B``: from their merge base), ``A`` (A..HEAD), or nothing (HEAD..working tree).

    Both ends are resolved to commit ids so the report says exactly what it compared."""
    if not text:
        return Range(_resolve(root, "HEAD"), None)
    if "..." in text:
        left, right = text.split("...", 1)
        head = _resolve(root, right or "HEAD")
        base = _git(root, "merge-base", _resolve(root, left or "HEAD"), head).stdout.decode().strip()
        return Range(base, head)
    if ".." in text:
        left, right = text.split("..", 1)
        return Range(_resolve(root, left or "HEAD"), _resolve(root, right or "HEAD"))
    return Range(_resolve(root, text), _resolve(root, "HEAD"))


def _resolve(root: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise InputError(f"not a revision: {rev!r}")
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok_codes=(0, 1))
    if proc.returncode != 0:
        raise InputError(f"unknown revision {rev!r}")
    return proc.stdout.decode().strip()


def changed_paths(root: Path, rng: Range) -> list[str]:
    """Paths added, modified or deleted between the two sides (renames count as delete+add);
    against the work tree, also its untracked files as the one walker lists them (not ignored,
    not in a skipped directory, regular files only)."""
    args = ["diff", "--name-only", "-z", "--no-renames", rng.base]
    if rng.head is not None:
        args.append(rng.head)
    paths = {p for p in _git(root, *args).stdout.decode("utf-8", "surrogateescape").split("\0") if p}
    if rng.head is None:
        paths.update(untracked_files(root))
    return sorted(paths)


def read_at(root: Path, rev: str | None, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev`` (None: the working tree), or None if it is absent there.

    Symlinks are not followed in the working tree (Flux does not follow them either)."""
    if rev is None:
        target = root / path
        if target.is_symlink() or not target.is_file() or target.stat().st_size > MAX_BLOB_BYTES:
            return None
        return target.read_bytes()
    listing = _git(root, "ls-tree", "-z", rev, "--", path).stdout.split(b"\0", 1)[0]
    if not listing or listing.startswith(b"120000 "):  # absent, or a symlink: not followed
        return None
    spec = f"{rev}:{path}"
    size = _git(root, "cat-file", "-s", spec, ok_codes=(0, 128))
    if size.returncode != 0 or int(size.stdout or b"0") > MAX_BLOB_BYTES:
        return None
    kind = _git(root, "cat-file", "-t", spec).stdout.strip()
    if kind != b"blob":
        return None
    return _git(root, "cat-file", "blob", spec).stdout


def read_many(root: Path, rev: str | None, paths: list[str]) -> dict[str, bytes]:
    """The bytes of each of ``paths`` present at ``rev`` (symlinks and oversized blobs left
    out), with two git processes whatever the number of paths: ``ls-tree`` then one
    ``cat-file --batch``."""
    if rev is None:
        found = {p: read_at(root, None, p) for p in paths}
        return {p: data for p, data in found.items() if data is not None}
    if not paths:
        return {}
    listing = _git(root, "ls-tree", "-z", "-l", rev, "--", *paths).stdout
    wanted: dict[str, str] = {}
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid, size = meta.split()
        if mode == b"120000" or kind != b"blob" or int(size) > MAX_BLOB_BYTES:
            continue
        wanted[name.decode("utf-8", "surrogateescape")] = oid.decode()
    if not wanted:
        return {}
    try:
        proc = subprocess.run(["git", "-C", str(root), "cat-file", "--batch"], capture_output=True, check=False,
                              input="".join(f"{oid}\n" for oid in wanted.values()).encode())
    except FileNotFoundError:
        raise InputError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        raise InputError("git cat-file failed")
    blobs: dict[str, bytes] = {}
    out, offset = proc.stdout, 0
    while offset < len(out):
        header_end = out.index(b"\n", offset)
        oid, _kind, size = out[offset:header_end].split()
        start = header_end + 1
        blobs[oid.decode()] = out[start:start + int(size)]
        offset = start + int(size) + 1
    return {path: blobs[oid] for path, oid in wanted.items() if oid in blobs}
