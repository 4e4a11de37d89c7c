"""Read the repository as Flux sees it: the upstream branch's commit and the files in it.

Flux pulls the remote branch, not the work tree, so "does the cluster open the files?" has to be
asked of the pushed revision too. Git is run as a subprocess; nothing is checked out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done if done.returncode == 0 else None


def upstream(repo: Path) -> str | None:
    """The upstream branch of HEAD (``origin/main``), or None when there is none."""
    done = _git(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
    return done.stdout.decode().strip() or None if done else None


def commit_of(repo: Path, rev: str) -> str | None:
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return done.stdout.decode().strip() or None if done else None


def uncommitted(repo: Path, paths: list[str]) -> list[str]:
    """Which of ``paths`` differ from HEAD (changed, staged or untracked)."""
    if not paths:
        return []
    done = _git(repo, "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths)
    if done is None:
        return list(paths)
    return [e[3:] for e in done.stdout.decode("utf-8", "replace").split("\0") if len(e) > 3]


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return _git(repo, "merge-base", "--is-ancestor", older, newer) is not None


def files_at(repo: Path, rev: str) -> Iterator[tuple[str, bytes]]:
    """``(path, bytes)`` of every regular file in ``rev`` (one ``cat-file --batch`` process)."""
    listing = _git(repo, "ls-tree", "-r", "-z", rev)
    if listing is None:
        return
    entries = []
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode in (b"100644", b"100755"):
            entries.append((path.decode("utf-8", "replace"), sha.decode()))
    if not entries:
        return
    batch = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input="".join(f"{sha}\n" for _, sha in entries).encode(), capture_output=True, check=False, timeout=120,
    )
    out, pos = batch.stdout, 0
    for rel, _sha in entries:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        start = header_end + 1
        yield rel, out[start : start + size]
        pos = start + size + 1


__all__ = ["commit_of", "files_at", "is_ancestor", "uncommitted", "upstream"]
