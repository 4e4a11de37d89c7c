"""The value search: every blob of every repository, inside SOPS files, and in log directories.

One repository is read in one pass (``git cat-file --batch-all-objects``): each blob is
checked for the value (as written and base64), and each SOPS file is opened in memory with
the local identities and its decrypted values checked too: a value copied into other
encrypted files is part of the leak surface no plaintext scanner can see. Data keys are
cached per set of wrapped keys, so the many versions of one file cost one unwrap. Only blobs
that match are then placed (paths, commits, authors, refs) with :mod:`sopskit.gitio`.

Several repositories are searched in parallel worker processes, forked after the probe is
set, so the value is never pickled or written anywhere.
"""

from __future__ import annotations

import base64
import gzip
import multiprocessing
import os
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit import gitio, walk
from sopskit.errors import InputError, SopsError
from sopskit.format.recognize import has_sops_metadata
from sopskit.format.tree import to_plain
from sopskit.keys.base import KeyContext
from sopskit.leak.probe import Probe

LOG_CHUNK = 64 << 20
LOG_OVERLAP = 1 << 16
#: work-tree files larger than this are not read (build outputs, media)
WORKTREE_MAX = 64 << 20


@dataclass
class Occurrence:
    """One place the value occurs. Holds ids, paths and names only."""

    repo: str | None
    where: str  # history, index, unreachable, sops, log
    path: str | None
    blob: str | None = None
    commits: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    first: str | None = None
    last: str | None = None  # the newest commit whose tree holds the blob
    secrets: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "where": self.where, "path": self.path, "blob": self.blob,
                "commits": self.commits, "refs": self.refs, "encodings": self.encodings,
                "paths": self.paths, "authors": self.authors, "first_commit": self.first,
                "last_commit": self.last, "secrets": self.secrets}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Occurrence:
        return cls(d.get("repo"), str(d["where"]), d.get("path"), d.get("blob"), list(d.get("commits") or []),
                   list(d.get("refs") or []), list(d.get("encodings") or []), list(d.get("paths") or []),
                   list(d.get("authors") or []), d.get("first_commit"), d.get("last_commit"),
                   list(d.get("secrets") or []))

    def key(self) -> tuple[str, str, str, str]:
        return (self.repo or "", self.where, self.path or "", self.blob or "")


@dataclass
class SearchStats:
    repos: int = 0
    blobs: int = 0
    bytes: int = 0
    commits: int = 0
    sops_files: int = 0
    sops_opened: int = 0
    log_files: int = 0
    worktree_files: int = 0

    def add(self, other: SearchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class SearchResult:
    fingerprint: str
    occurrences: list[Occurrence] = field(default_factory=list)
    stats: SearchStats = field(default_factory=SearchStats)
    errors: list[str] = field(default_factory=list)  # one line per repo/dir that failed

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "occurrences": [o.to_dict() for o in self.occurrences],
                "stats": self.stats.to_dict(), "errors": self.errors}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None and not isinstance(value, bytes):
        yield str(value)


class SopsOpener:
    """Decrypts SOPS blobs in memory with the local identities; caches data keys."""

    def __init__(self, context: KeyContext | None = None) -> None:
        self._context = context or KeyContext()
        self._keys: dict[tuple[tuple[str, str], ...], bytes | None] = {}

    def plaintext(self, data: bytes) -> bytes | None:
        """The decrypted values joined by newlines, or None if no local key opens the file."""
        docs = self.documents(data)
        if docs is None:
            return None
        return "\n".join(s for d in docs for s in _strings(d)).encode("utf-8", "surrogateescape")

    def documents(self, data: bytes) -> list[Any] | None:
        """The decrypted documents as plain Python data, or None if no local key opens them."""
        from sopskit.ops.document import recover_key
        from sopskit.ops.sopsfile import open_encrypted, parse_encrypted

        try:
            branches, metadata = parse_encrypted(data)
        except SopsError:
            return None
        cache_key = tuple(sorted((r.key_type, r.enc) for r in metadata.records()))
        if cache_key not in self._keys:
            try:
                self._keys[cache_key] = recover_key(metadata, context=self._context)
            except SopsError:
                self._keys[cache_key] = None
        data_key = self._keys[cache_key]
        if data_key is None:
            return None
        try:
            opened = open_encrypted(data, parsed=(branches, metadata), context=self._context,
                                    data_key=data_key, ignore_mac=True)
        except SopsError:
            return None
        docs = [to_plain(b) for b in opened.branches]
        for d in docs:
            if isinstance(d, dict):
                d.pop("sops", None)
        return docs


def secrets_holding(docs: Sequence[Any], probe: Probe) -> list[dict[str, Any]]:
    """Kubernetes Secrets among ``docs`` and which of their keys hold the value (any encoding)."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "Secret":
            continue
        keys: list[str] = []
        for section in ("data", "stringData"):
            values = doc.get(section)
            if not isinstance(values, dict):
                continue
            for k, v in values.items():
                raw = str(v).encode("utf-8", "surrogateescape")
                hit = probe.find(raw)
                if not hit and section == "data":
                    try:
                        hit = probe.find(base64.b64decode(raw, validate=False))
                    except ValueError:
                        hit = []
                if hit and str(k) not in keys:
                    keys.append(str(k))
        if keys:
            meta_raw = doc.get("metadata")
            meta: dict[str, Any] = meta_raw if isinstance(meta_raw, dict) else {}
            out.append({"kind": "Secret", "namespace": meta.get("namespace"), "name": meta.get("name"),
                        "keys": keys})
    return out


def _plain_documents(data: bytes) -> list[Any]:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(data) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []


def _search_worktree(repo: Path, probe: Probe, stats: SearchStats) -> list[Occurrence]:
    out: list[Occurrence] = []
    listing = walk.uncommitted_files(repo)
    for rel in listing.files:
        path = listing.root / rel
        try:
            if path.stat().st_size > WORKTREE_MAX:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        stats.worktree_files += 1
        stats.bytes += len(data)
        encs = probe.find(data)
        if encs:
            out.append(Occurrence(str(repo.resolve()), "worktree", rel, encodings=encs, paths=[rel]))
    return out


def search_repo(repo: Path, probe: Probe, *, context: KeyContext | None = None,
                sops: bool = True, worktree: bool = True) -> SearchResult:
    """Every occurrence of the probe's value in one repository's object store."""
    gitio.require_repo(repo)
    result = SearchResult(probe.fingerprint)
    stats = result.stats
    stats.repos = 1
    opener = SopsOpener(context) if sops else None
    hits: dict[str, list[str]] = {}
    sops_hits: dict[str, list[str]] = {}
    holding: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for oid, data in gitio.stream_blobs(repo):
        stats.blobs += 1
        stats.bytes += len(data)
        found = probe.find(data)
        if found:
            hits[oid] = found
            if b"Secret" in data:
                holding[(oid, "plain")] = secrets_holding(_plain_documents(data), probe)
        if opener is not None and b"sops" in data and has_sops_metadata(data):
            stats.sops_files += 1
            docs = opener.documents(data)
            if docs is not None:
                stats.sops_opened += 1
                inner = probe.find("\n".join(s for d in docs for s in _strings(d)).encode(
                    "utf-8", "surrogateescape"))
                if inner:
                    sops_hits[oid] = inner
                    holding[(oid, "sops")] = secrets_holding(docs, probe)
    if worktree:
        result.occurrences.extend(_search_worktree(repo, probe, stats))
    if not hits and not sops_hits:
        return result
    mapped = gitio.map_repository(repo)
    stats.commits = mapped.commits
    placed: list[tuple[str, list[str], str | None]] = [(oid, encs, None) for oid, encs in hits.items()]
    placed += [(oid, encs, "sops") for oid, encs in sops_hits.items()]
    at_tips = gitio.blobs_at_tips(repo, {oid for oid, _, _ in placed})
    for oid, encs, where in placed:
        place = mapped.place(oid)
        first, last = place.first, mapped.last_seen(oid, at_tips.get(oid, []))
        result.occurrences.append(Occurrence(
            str(repo.resolve()), where or place.where, place.paths[0] if place.paths else None, oid,
            [c.sha for c in place.commits], list(place.refs), encs, list(place.paths), place.authors,
            first.sha if first else None, last.sha if last else None,
            holding.get((oid, where or "plain"), [])))
    result.occurrences.sort(key=Occurrence.key)
    return result


def _log_members(path: Path) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(display name, content chunks) for a log file, a .gz file or each member of a .zip."""
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        with zf.open(info) as fh:
                            yield f"{path}!{info.filename}", _chunks(fh)
            return
        except zipfile.BadZipFile:
            pass
    if path.suffix == ".gz":
        with path.open("rb") as raw:
            magic = raw.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as fh:
                yield str(path), _chunks(fh)
            return
    with path.open("rb") as fh:
        yield str(path), _chunks(fh)


def _chunks(fh: Any) -> Iterator[bytes]:
    tail = b""
    while True:
        block = fh.read(LOG_CHUNK)
        if not block:
            return
        yield tail + block
        tail = block[-LOG_OVERLAP:]


def search_logs(dirs: Sequence[Path], probe: Probe) -> SearchResult:
    """Every file under the directories (CI logs, artefacts; .gz and .zip opened)."""
    result = SearchResult(probe.fingerprint)
    for top in dirs:
        if not top.exists():
            raise InputError(f"{top}: no such file or directory")
        files = [top] if top.is_file() else list(walk.walk_tree(top, skip=walk.VCS_DIRS))
        for f in files:
            result.stats.log_files += 1
            try:
                for name, chunks in _log_members(f):
                    encs: list[str] = []
                    for chunk in chunks:
                        result.stats.bytes += len(chunk)
                        encs.extend(e for e in probe.find(chunk) if e not in encs)
                    if encs:
                        result.occurrences.append(Occurrence(None, "log", name, encodings=encs, paths=[name]))
            except OSError as exc:
                result.errors.append(f"{f}: cannot read: {exc.strerror or type(exc).__name__}")
    return result


_FORKED: dict[str, Any] = {}


def _search_forked(repo: str) -> SearchResult:
    probe, context, sops, worktree = _FORKED["args"]
    try:
        return search_repo(Path(repo), probe, context=context, sops=sops, worktree=worktree)
    except SopsError as exc:
        failed = SearchResult(probe.fingerprint)
        failed.errors.append(exc.message)
        return failed


def search_many(repos: Sequence[Path], probe: Probe, *, logs: Sequence[Path] = (),
                context: KeyContext | None = None, sops: bool = True, workers: int = 0,
                worktree: bool = True) -> SearchResult:
    """All repositories (in parallel when there are several) and log directories, merged.

    A repository that cannot be read is an error line in the result, not the end of the
    search: the other clones still count.
    """
    total = SearchResult(probe.fingerprint)
    workers = workers or min(len(repos), os.cpu_count() or 1)
    _FORKED["args"] = (probe, context, sops, worktree)
    try:
        if workers > 1 and len(repos) > 1 and "fork" in multiprocessing.get_all_start_methods():
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                parts = list(pool.map(_search_forked, [str(r) for r in repos]))
        else:
            parts = [_search_forked(str(r)) for r in repos]
    finally:
        _FORKED.clear()
    if logs:
        parts.append(search_logs(logs, probe))
    for part in parts:
        total.occurrences.extend(part.occurrences)
        total.stats.add(part.stats)
        total.errors.extend(part.errors)
    return total


__all__ = ["Occurrence", "SearchResult", "SearchStats", "SopsOpener", "search_logs", "search_many", "search_repo"]
