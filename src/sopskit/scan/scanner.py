"""The scan use case: enumerate sources, detect in parallel, place findings, apply baseline.

Work is split into batches of content items handed to worker processes (forked, so the
compiled rules are shared copy-on-write and each worker runs its own ``git cat-file``).
Small scans stay in-process: forking costs more than it saves below a few hundred items.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.errors import UsageError
from sopskit.scan import sources
from sopskit.scan.detect import BUILTIN_RULES, DetectContext, detect
from sopskit.scan.engine import Matcher
from sopskit.scan.findings import BlobFinding, CommitRef, Finding, ScanReport, ScanStats
from sopskit.scan.rules import RuleSet, load_default_rules
from sopskit.scan.sopsaware import CreationRuleIndex

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
_BATCH = 512
_PARALLEL_MIN = 256

Progress = Callable[[int, int], None]


@dataclass
class ScanOptions:
    """What to scan and how. Paths default to the current directory."""

    paths: Sequence[Path] = ()
    worktree: bool = True
    staged: bool = False
    history: bool = False
    ruleset: RuleSet | None = None
    baseline: frozenset[str] = frozenset()
    engine: str = "auto"  # "auto", "hyperscan" or "python"
    workers: int = 0  # 0: one per CPU
    max_size: int = DEFAULT_MAX_SIZE
    kubernetes: bool = True
    sops_config: bool = True
    config_api: Any = field(default=None, repr=False)  # test seam for sopskit.config


# An item is ("file", absolute path, [display path]) or ("blob", oid, [paths]).
_Item = tuple[str, str, list[str]]
_Result = tuple[str, list[BlobFinding], str | None, int]

_STATE: dict[str, object] = {}


def _read_worktree_file(root: Path | None) -> Callable[[str], bytes | None]:
    def read(rel: str) -> bytes | None:
        if root is None:
            return None
        target = root / rel
        try:
            small = target.is_file() and target.stat().st_size <= DEFAULT_MAX_SIZE
            return target.read_bytes() if small else None
        except OSError:
            return None
    return read


_GIT_READER: dict[tuple[int, Path], sources.BlobReader] = {}


def _read_from_git(rel: str) -> bytes | None:
    """A file as git has it (index entry or newest history version), for generator refs."""
    oid = dict.get(_STATE.get("path_oids") or {}, rel)  # type: ignore[call-overload]
    repo = _STATE.get("repo")
    if not isinstance(oid, str) or not isinstance(repo, Path):
        return None
    key = (os.getpid(), repo)
    reader = _GIT_READER.get(key)
    if reader is None:
        reader = _GIT_READER[key] = sources.BlobReader(repo)
    for _, data, _, _ in reader.read_many([oid], DEFAULT_MAX_SIZE):
        return data
    return None


def _run_batch(items: list[_Item]) -> list[_Result]:
    ctx = _STATE["ctx"]
    assert isinstance(ctx, DetectContext)
    max_size = int(str(_STATE["max_size"]))
    repo = _STATE.get("repo")
    out: list[_Result] = []
    files = [it for it in items if it[0] == "file"]
    for _, absolute, paths in files:
        p = Path(absolute)
        try:
            if p.is_symlink():
                out.append((absolute, [], "symlink", 0))
                continue
            st = p.stat()
            if not stat.S_ISREG(st.st_mode):  # a FIFO, socket or device would block or never end
                out.append((absolute, [], "not-a-file", 0))
                continue
            size = st.st_size
            if size > max_size:
                out.append((absolute, [], "too-large", size))
                continue
            data = p.read_bytes()
        except OSError:
            out.append((absolute, [], "unreadable", 0))
            continue
        found, skip = detect(data, paths, ctx)
        out.append((absolute, found, skip, len(data)))
    blobs = [it for it in items if it[0] == "blob"]
    if blobs:
        assert isinstance(repo, Path)
        by_oid = {oid: paths for _, oid, paths in blobs}
        with sources.BlobReader(repo) as reader:
            for oid, content, size, skip in reader.read_many(list(by_oid), max_size):
                if content is None:
                    out.append((oid, [], skip, size))
                    continue
                found, skip = detect(content, by_oid[oid], ctx)
                out.append((oid, found, skip, size))
    return out


def _execute(items: list[_Item], workers: int, progress: Progress | None) -> Iterable[_Result]:
    total = len(items)
    size = max(16, min(_BATCH, total // max(1, workers * 8)))
    batches = [items[i:i + size] for i in range(0, total, size)]
    if workers <= 1 or total < _PARALLEL_MIN or "fork" not in multiprocessing.get_all_start_methods():
        done = 0
        for batch in batches:
            results = _run_batch(batch)
            done += len(batch)
            if progress:
                progress(done, total)
            yield from results
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures: list[Future[list[_Result]]] = [pool.submit(_run_batch, b) for b in batches]
        done = 0
        for fut in futures:
            results = fut.result()
            done += len(results)
            if progress:
                progress(done, total)
            yield from results


def _place(found: BlobFinding, descriptions: dict[str, str], source: str, oid: str | None,
           history: sources.History | None) -> Finding:
    finding = Finding(found.rule_id, descriptions.get(found.rule_id, found.rule_id), found.path, found.line,
                      found.fingerprint, source, blob=oid)
    if history is not None and oid is not None:
        refs = history.introduced.get((oid, found.path), [])
        if not refs:  # a file a kustomization refers to: place it by that file's newest version
            other = dict.get(_STATE.get("path_oids") or {}, found.path)  # type: ignore[call-overload]
            refs = history.introduced.get((other, found.path), []) if isinstance(other, str) else []
            oid = other if refs else oid
            finding.blob = oid
        refs = sorted(refs, key=lambda c: c.date)
        if refs:
            finding.first, finding.last, finding.commits = refs[0], refs[-1], len(refs)
            finding.commit = refs[0].commit
    return finding


def _merge_history(findings: list[Finding]) -> list[Finding]:
    """One history finding per (rule, path, secret): the span of commits that carried it."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        key = (f.rule_id, f.path, f.fingerprint)
        kept = merged.get(key)
        if kept is None:
            merged[key] = f
            continue
        kept.commits += f.commits
        if f.first and (kept.first is None or f.first.date < kept.first.date):
            kept.first, kept.commit, kept.line, kept.blob = f.first, f.first.commit, f.line, f.blob
        if f.last and (kept.last is None or f.last.date > kept.last.date):
            kept.last = f.last
    return list(merged.values())


def _repo_for(paths: Sequence[Path]) -> Path:
    roots = {sources.git_root(p.resolve()) or sources.bare_git_dir(p.resolve()) for p in paths}
    if None in roots or len(roots) != 1:
        raise UsageError("--staged and --history need paths inside one git repository")
    root = roots.pop()
    assert root is not None
    return root


def scan(options: ScanOptions, *, progress: Progress | None = None) -> ScanReport:
    """Run a scan; findings not accepted by the baseline are returned, with statistics."""
    started = time.monotonic()
    paths = list(options.paths) or [Path.cwd()]
    ruleset = options.ruleset or load_default_rules()
    matcher = Matcher(ruleset, engine=options.engine)
    stats = ScanStats(engine=matcher.engine)
    first = paths[0].resolve()
    root = sources.git_root(first) or (first if first.is_dir() else first.parent)
    creation = None
    if options.sops_config:
        api = options.config_api
        creation = CreationRuleIndex(root, config_api=api) if api is not None else CreationRuleIndex(root)
    ctx = DetectContext(matcher, ruleset, creation, _read_worktree_file(root), options.kubernetes)
    descriptions = {**BUILTIN_RULES, **{r.id: r.description for r in ruleset.rules}}
    workers = options.workers or os.cpu_count() or 1
    _STATE.clear()
    _STATE.update(ctx=ctx, max_size=options.max_size)
    findings: list[Finding] = []

    def consume(items: list[_Item], source: str, history: sources.History | None,
                report: Progress | None) -> list[Finding]:
        out: list[Finding] = []
        for key, found, skip, size in _execute(items, workers, report):
            if skip:
                stats.skipped[skip] += 1
                if skip == "binary":
                    stats.items_scanned += 1
            else:
                stats.items_scanned += 1
                stats.bytes_scanned += size
            oid = key if source != "worktree" else None
            out.extend(_place(f, descriptions, source, oid, history) for f in found)
        return out

    if options.worktree:
        stats.sources.append("worktree")
        file_items: list[_Item] = [("file", str(f.absolute), [f.display])
                                   for f in sources.worktree_files(paths)]
        findings.extend(consume(file_items, "worktree", None, None))
    if options.staged or options.history:
        repo = _repo_for(paths)
        _STATE["repo"] = repo
        ctx.read_file = _read_from_git  # generator files resolve to git's version of them
        if options.staged:
            stats.sources.append("staged")
            staged = sources.staged_blobs(repo)
            _STATE["path_oids"] = {p: oid for oid, ps in staged.items() for p in ps}
            items: list[_Item] = [("blob", oid, p) for oid, p in staged.items()]
            findings.extend(consume(items, "staged", None, None))
        if options.history:
            stats.sources.append("history")
            history = sources.history_blobs(repo)
            stats.commits = history.commits
            newest = sorted(history.introduced.items(), key=lambda kv: max(c.date for c in kv[1]))
            _STATE["path_oids"] = {path: oid for (oid, path), _ in newest}
            items = [("blob", oid, p) for oid, p in history.blobs.items()]
            findings.extend(_merge_history(consume(items, "history", history, progress)))
    for key in [k for k in _GIT_READER if k[0] == os.getpid()]:
        _GIT_READER.pop(key).close()
    kept = []
    for f in findings:
        if f.fingerprint in options.baseline:
            stats.suppressed["baseline"] += 1
        else:
            kept.append(f)
    kept.sort(key=lambda f: (f.source, f.path, f.line, f.rule_id))
    stats.findings = len(kept)
    stats.by_rule.update(f.rule_id for f in kept)
    if creation is not None and creation.errors:
        stats.skipped["invalid-sops-config"] += len(creation.errors)
    stats.seconds = time.monotonic() - started
    return ScanReport(kept, stats)


__all__ = ["DEFAULT_MAX_SIZE", "CommitRef", "ScanOptions", "scan"]
