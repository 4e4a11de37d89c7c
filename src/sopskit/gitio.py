"""Git plumbing for whole-history questions: every ref, every blob, where each blob lives.

Used by leak response (and meant for the scanner, which can re-base ``history_blobs`` on it):
"which paths, commits, authors and refs hold this blob?" and "which objects are in the object
store but reachable from nothing?". Git's own plumbing does the work, streamed, in a few passes
whatever the history's size:

1. ``git for-each-ref`` and ``git log -g --all``: every ref (branches, tags, remotes,
   ``refs/pull/*``, notes, stash) and every reflog entry (amended and reset commits, dropped
   stash entries still in the stash reflog);
2. one ``git log --all --reflog --topo-order --raw -c``: every commit with its parents, author
   and the blobs it introduces at which paths. Topological order (children before parents) lets
   the refs that reach each commit be propagated in the same single pass over the list;
3. ``git cat-file --batch-all-objects --batch-check``: every object in the store (loose and
   packed); objects of neither (2) nor the index are unreachable. Unreachable commits (a deleted
   branch after its reflog expired, an orphaned ``commit-tree``) get their paths from one more
   ``git log --raw`` limited to them.

Blob contents are streamed with ``git cat-file --batch-all-objects --batch --unordered``, in
pack order, each object once, so decompression stays in git's C code.

Refs are reported by name; a commit reachable only from a reflog is reported as the reflog
entry (``refs/heads/main@{2}``, ``refs/stash@{1}``) because that is where a person finds it.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sopskit.errors import InputError

NULL_OID = "0" * 40
_CHUNK = 1 << 20
#: where a blob was found: reachable from a ref or reflog, only in the index, or nowhere
HISTORY, INDEX, UNREACHABLE = "history", "index", "unreachable"


def git(repo: Path, *args: str) -> bytes:
    """Run one git command in ``repo``; its stdout, or an :class:`InputError` naming the step."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed in {repo}: {reason[-1] if reason else proc.returncode}")
    return proc.stdout


def require_repo(repo: Path) -> Path:
    """The git directory's top (work tree or bare); InputError if ``repo`` is not a repository."""
    if not repo.exists():
        raise InputError(f"{repo}: no such directory")
    out = git(repo, "rev-parse", "--absolute-git-dir")
    return Path(os.fsdecode(out.strip()))


def unquote_git_path(text: str) -> str:
    """Undo git's C-style quoting of unusual paths (``"caf\\303\\251.txt"``)."""
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    raw = text[1:-1].encode("ascii", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "replace")


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # author date, ISO 8601
    author: str  # "Name <email>"


@dataclass
class BlobPlace:
    """Everything known about where one blob lives. Safe to show: no content."""

    oid: str
    where: str  # HISTORY, INDEX or UNREACHABLE
    paths: list[str] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)  # commits that introduce it
    refs: list[str] = field(default_factory=list)
    #: commits whose child changed or deleted the blob: the last commits of a line holding it
    replaced_after: list[str] = field(default_factory=list)

    @property
    def first(self) -> Commit | None:
        return min(self.commits, key=lambda c: c.date) if self.commits else None

    @property
    def last_introduced(self) -> Commit | None:
        return max(self.commits, key=lambda c: c.date) if self.commits else None

    @property
    def authors(self) -> list[str]:
        return sorted({c.author for c in self.commits})


@dataclass(frozen=True)
class Ref:
    name: str
    target: str  # the peeled object id
    kind: str  # object type of the peeled target: commit, tree or blob


def list_refs(repo: Path) -> list[Ref]:
    """Every ref (annotated tags peeled), plus a detached HEAD."""
    out = git(repo, "for-each-ref", "--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname) "
              "%(refname)")
    refs: list[Ref] = []
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 4)
        if len(parts) < 5:
            continue
        kind, oid, pkind, poid, name = parts
        if kind == "tag" and pkind:
            kind, oid = pkind, poid
        refs.append(Ref(name, oid, kind))
    head = subprocess.run(["git", "-C", str(repo), "symbolic-ref", "-q", "HEAD"], capture_output=True,
                          check=False)
    if head.returncode != 0:  # detached (or unborn): HEAD is a ref of its own
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "-q", "--verify", "HEAD^{commit}"],
                             capture_output=True, check=False)
        if sha.returncode == 0:
            refs.append(Ref("HEAD", sha.stdout.decode().strip(), "commit"))
    return refs


def reflog_entries(repo: Path) -> list[tuple[str, str]]:
    """(entry name, commit) for every reflog entry of every ref, HEAD included."""
    proc = subprocess.run(["git", "-C", str(repo), "log", "-g", "--all", "--format=%H %gD"],
                          capture_output=True, check=False)
    if proc.returncode != 0:  # no reflogs at all (a fresh bare mirror) is not an error
        return []
    out: list[tuple[str, str]] = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        sha, _, name = line.partition(" ")
        if sha and name:
            out.append((name, sha))
    return out


def parse_raw_line(line: str) -> tuple[str, str, list[str]] | None:
    """(new blob id or NULL_OID, path, old blob ids per parent) from one ``--raw`` line,
    single-parent or combined (``-c``); None for submodules and malformed lines."""
    meta, _, path = line.partition("\t")
    parents = len(meta) - len(meta.lstrip(":"))
    fields = meta.lstrip(":").split()
    if len(fields) < 2 * (parents + 1):
        return None
    mode, oid = fields[parents], fields[2 * parents + 1]
    if mode == "160000":
        return None
    olds = [o if fields[i] != "160000" else NULL_OID for i, o in enumerate(fields[parents + 1:2 * parents + 1])]
    return oid, unquote_git_path(path), olds


_LOG_FORMAT = "--format=%x01%H%x02%P%x02%aI%x02%an <%ae>"


@dataclass
class _LogEntry:
    commit: Commit
    parents: list[str]
    added: list[tuple[str, str]] = field(default_factory=list)  # (blob, path) this commit introduces
    replaced: list[tuple[str, str]] = field(default_factory=list)  # (blob, parent) it changes or deletes


def _walk_log(repo: Path, starts: Sequence[str]) -> Iterator[_LogEntry]:
    """One entry per commit in topological order, children first."""
    proc = subprocess.Popen(["git", "-C", str(repo), "log", *starts, "--topo-order", "--raw",
                             "--no-abbrev", "--no-renames", "-c", _LOG_FORMAT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    current: _LogEntry | None = None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line.startswith("\x01"):
            if current is not None:
                yield current
            sha, parents, date, author = [*line[1:].split("\x02"), "", "", ""][:4]
            current = _LogEntry(Commit(sha, date, author), parents.split())
        elif line.startswith(":") and current is not None:
            parsed = parse_raw_line(line)
            if parsed is None:
                continue
            oid, path, olds = parsed
            if oid != NULL_OID:
                current.added.append((oid, path))
            for parent, old in zip(current.parents or [""], olds, strict=False):
                if old != NULL_OID and old != oid and parent:
                    current.replaced.append((old, parent))
    if current is not None:
        yield current
    err = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git log failed in {repo}: {reason[-1] if reason else proc.returncode}")


def _object_types(repo: Path) -> dict[str, str]:
    out = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
    types: dict[str, str] = {}
    for line in out.decode().splitlines():
        oid, _, kind = line.partition(" ")
        types[oid] = kind
    return types


def tree_blobs(repo: Path, tree: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for entry in git(repo, "ls-tree", "-r", "-z", tree).split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            _mode, otype, oid = meta.decode().split()
            if otype == "blob":
                out.append((oid, os.fsdecode(path)))
    return out


@dataclass
class RepoMap:
    """Where every blob of one repository lives; built by :func:`map_repository`."""

    repo: Path
    places: dict[str, BlobPlace] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    commits: int = 0
    objects: int = 0
    commit_index: dict[str, Commit] = field(default_factory=dict)

    def last_seen(self, oid: str, tips: Iterable[str] = ()) -> Commit | None:
        """The newest commit whose tree holds the blob: a ref tip that still has it (``tips``:
        ref names, from :func:`blobs_at_tips`), else the last commit before each change."""
        place = self.place(oid)
        targets = {r.name: r.target for r in self.refs}
        shas = [*place.replaced_after, *(targets[t] for t in tips if t in targets)]
        found = [self.commit_index[s] for s in shas if s in self.commit_index]
        if not found:
            return place.last_introduced
        return max(found, key=lambda c: c.date)

    def place(self, oid: str) -> BlobPlace:
        """The place of ``oid``; a blob never seen in a tree is unreachable with no path."""
        found = self.places.get(oid)
        return found if found is not None else BlobPlace(oid, UNREACHABLE)

    def blobs(self, where: str | None = None) -> list[str]:
        return [oid for oid, p in self.places.items() if where is None or p.where == where]


def _mask_names(mask: int, names: Sequence[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while mask:
        if mask & 1:
            out.append(names[i])
        mask >>= 1
        i += 1
    return out


def map_repository(repo: Path, *, unreachable: bool = True) -> RepoMap:
    """Map every blob to its paths, introducing commits, authors and the refs reaching it."""
    require_repo(repo)
    result = RepoMap(repo)
    refs = list_refs(repo)
    result.refs = refs
    reflog = reflog_entries(repo)
    commit_refs = [r for r in refs if r.kind == "commit"]
    names = [r.name for r in commit_refs]
    tips: dict[str, int] = {}
    for i, r in enumerate(commit_refs):
        tips[r.target] = tips.get(r.target, 0) | (1 << i)
    # pass 1: every commit reachable from a ref or a reflog entry, children first
    order: list[_LogEntry] = []
    mask: dict[str, int] = dict(tips)
    starts = ["--all", "--reflog"] if refs or reflog else []
    if starts:
        for entry in _walk_log(repo, starts):
            order.append(entry)
            m = mask.get(entry.commit.sha, 0)
            for p in entry.parents:
                mask[p] = mask.get(p, 0) | m
    # commits no ref reaches: name them by the reflog entries that reach them
    orphan_tips: dict[str, int] = {}
    orphan_names: list[str] = []
    for name, sha in reflog:
        if not mask.get(sha):
            orphan_tips[sha] = orphan_tips.get(sha, 0) | (1 << len(orphan_names))
            orphan_names.append(name)
    omask: dict[str, int] = dict(orphan_tips)
    if orphan_tips:
        for entry in order:
            m = omask.get(entry.commit.sha, 0)
            if m and not mask.get(entry.commit.sha):
                for p in entry.parents:
                    omask[p] = omask.get(p, 0) | m
    ref_cache: dict[tuple[int, int], list[str]] = {}
    replaced: list[tuple[str, str]] = []
    for entry in order:
        commit = entry.commit
        result.commit_index[commit.sha] = commit
        key = (mask.get(commit.sha, 0), 0 if mask.get(commit.sha) else omask.get(commit.sha, 0))
        labels = ref_cache.get(key)
        if labels is None:
            labels = ref_cache[key] = _mask_names(key[0], names) + _mask_names(key[1], orphan_names)
        for oid, path in entry.added:
            _add(result.places, oid, HISTORY, path, commit, labels)
        replaced.extend(entry.replaced)
    for oid, parent in replaced:
        place = result.places.get(oid)
        if place is not None and parent not in place.replaced_after:
            place.replaced_after.append(parent)
    result.commits = len(order)
    for r in refs:  # refs straight at a tree or blob (rare tags)
        if r.kind == "blob":
            _add(result.places, r.target, HISTORY, None, None, [r.name])
        elif r.kind == "tree":
            for oid, path in tree_blobs(repo, r.target):
                _add(result.places, oid, HISTORY, path, None, [r.name])
    _add_index(repo, result)
    if unreachable:
        _add_unreachable(repo, result, {e.commit.sha for e in order})
    return result


def _add(places: dict[str, BlobPlace], oid: str, where: str, path: str | None, commit: Commit | None,
         labels: Iterable[str]) -> None:
    place = places.get(oid)
    if place is None:
        place = places[oid] = BlobPlace(oid, where)
    if path is not None and path not in place.paths:
        place.paths.append(path)
    if commit is not None and commit not in place.commits:
        place.commits.append(commit)
    for label in labels:
        if label not in place.refs:
            place.refs.append(label)


def _add_index(repo: Path, result: RepoMap) -> None:
    """Blobs staged in the index but in no commit: still in every copy of this clone."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-files", "-s", "-z"], capture_output=True, check=False)
    if proc.returncode != 0:  # bare repository
        return
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, oid, _stage = meta.decode().split()
        if mode != "160000" and oid not in result.places:
            _add(result.places, oid, INDEX, os.fsdecode(path), None, ["(index)"])


def _add_unreachable(repo: Path, result: RepoMap, reachable_commits: set[str]) -> None:
    types = _object_types(repo)
    result.objects = len(types)
    lost_commits = [oid for oid, kind in types.items() if kind == "commit" and oid not in reachable_commits]
    if lost_commits:
        not_reachable = ["--not", "--all", "--reflog"] if reachable_commits else []
        for entry in _walk_log(repo, [*lost_commits, *not_reachable]):
            for oid, path in entry.added:
                if oid not in result.places or result.places[oid].where == UNREACHABLE:
                    _add(result.places, oid, UNREACHABLE, path, entry.commit, [])
    for oid, kind in types.items():
        if kind == "blob" and oid not in result.places:
            result.places[oid] = BlobPlace(oid, UNREACHABLE)


def stream_blobs(repo: Path, *, max_size: int | None = None,
                 only: set[str] | None = None) -> Iterator[tuple[str, bytes]]:
    """Every blob in the object store, each once, in pack order: (oid, content).

    ``only`` restricts to those ids (read with ``--batch`` instead of a full walk); blobs over
    ``max_size`` are skipped without being held.
    """
    if only is not None:
        args = ["cat-file", "--batch"]
    else:
        args = ["cat-file", "--batch-all-objects", "--batch", "--unordered"]
    proc = subprocess.Popen(["git", "-C", str(repo), *args], stdin=subprocess.PIPE if only is not None else
                            subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            bufsize=_CHUNK)
    stdout = proc.stdout
    assert stdout is not None
    feeder: threading.Thread | None = None
    if only is not None:
        assert proc.stdin is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, sorted(only)), daemon=True)
        feeder.start()
    try:
        while True:
            header = stdout.readline()
            if not header:
                break
            parts = header.split()
            if len(parts) < 3 or parts[1] == b"missing":
                continue
            oid, kind, size = parts[0].decode(), parts[1], int(parts[2])
            if kind != b"blob" or (max_size is not None and size > max_size):
                _drain(stdout, size + 1)
                continue
            data = stdout.read(size)
            stdout.read(1)
            yield oid, data
    finally:
        stdout.close()
        proc.wait()
        if feeder is not None:
            feeder.join()


def _feed(stdin: IO[bytes], names: list[str]) -> None:
    try:
        stdin.write("".join(n + "\n" for n in names).encode())
        stdin.close()
    except BrokenPipeError:
        pass


def _drain(stream: IO[bytes], n: int) -> None:
    while n > 0:
        got = len(stream.read(min(n, _CHUNK)))
        if not got:
            return
        n -= got




def blobs_at_tips(repo: Path, oids: set[str]) -> dict[str, list[str]]:
    """Which of ``oids`` are in the tree of some ref's tip: oid -> [ref names].

    This is the *current* state (what a checkout of each branch or tag holds), as opposed to
    everything in history.
    """
    found: dict[str, list[str]] = {}
    by_commit: dict[str, list[str]] = {}
    for ref in list_refs(repo):
        if ref.kind == "commit":
            by_commit.setdefault(ref.target, []).append(ref.name)
    for commit, names in by_commit.items():
        for entry in git(repo, "ls-tree", "-r", "-z", commit).split(b"\0"):
            if not entry:
                continue
            meta, _path = entry.split(b"\t", 1)
            oid = meta.decode().split()[2]
            if oid in oids:
                found.setdefault(oid, []).extend(n for n in names if n not in found.get(oid, []))
    return found


def is_remote(name: str) -> bool:
    """A clone URL (``https://``, ``ssh://``, ``git@host:path``) rather than a local path."""
    if "://" in name:
        return True
    head, sep, _ = name.partition(":")
    return bool(sep) and "@" in head and "/" not in head


#: the user info of a URL (``https://x-access-token:TOKEN@host/``, ``https://TOKEN@host/``)
_USER_INFO = re.compile(r"(?<=://)[^/@\s]+@")


def without_user_info(text: object) -> str:
    """``text`` with the user info of every URL in it removed: fit for a message. Clone URLs often
    carry a token (``https://x-access-token:TOKEN@github.com/...``), and a token is a secret."""
    return _USER_INFO.sub("", str(text or ""))


def mirror_clone(url: str, dest: Path) -> Path:
    """``git clone --mirror`` (every ref the server has, pull-request refs included)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "clone", "--quiet", "--mirror", "--", url, str(dest)], capture_output=True,
                          check=False)
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        last = without_user_info(reason[-1]) if reason else proc.returncode
        raise InputError(f"git clone failed for {without_user_info(url)}: {last}")
    return dest


__all__ = [
    "HISTORY",
    "INDEX",
    "UNREACHABLE",
    "BlobPlace",
    "Commit",
    "Ref",
    "RepoMap",
    "blobs_at_tips",
    "git",
    "is_remote",
    "list_refs",
    "map_repository",
    "mirror_clone",
    "parse_raw_line",
    "reflog_entries",
    "require_repo",
    "stream_blobs",
    "tree_blobs",
    "unquote_git_path",
    "without_user_info",
]
