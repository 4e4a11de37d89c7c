"""The leak use cases the command line calls: search, build the record, re-check it.

Each returns data (dicts ready for JSON/YAML) and never prints; secrets stay inside the
probe or the key context.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopskit.keys.base import KeyContext
from sopskit.leak import plan, record
from sopskit.leak.keyleak import KeyLeakResult, LeakedKey, exposure
from sopskit.leak.probe import Probe
from sopskit.leak.search import SearchResult, search_many


def _secrets_of(result: SearchResult) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for occ in result.occurrences:
        for s in occ.secrets:
            if s not in seen:
                seen.append(s)
    return seen


def _workloads(secrets: Sequence[dict[str, Any]], repos: Sequence[Path]) -> list[plan.Consumer]:
    """Workloads in the clones' work trees that read one of the Secrets."""
    pairs = [(s.get("namespace"), str(s.get("name"))) for s in secrets if s.get("name")]
    found: list[plan.Consumer] = []
    if pairs:
        for repo in repos:
            if (repo / ".git").exists():
                found.extend(plan.consumers(repo, pairs))
    return found


def value_runbook(result: SearchResult, repos: Sequence[Path]) -> list[dict[str, Any]]:
    """The rotation plan for a leaked value: Secrets holding it and the workloads reading them."""
    secrets = _secrets_of(result)
    workloads = _workloads(secrets, repos)
    sops_files = [o.path for o in result.occurrences if o.where == "sops" and o.path]
    return plan.value_runbook(secrets, workloads, [p for p in sops_files if p])


def search_value(probe: Probe, repos: Sequence[Path], logs: Sequence[Path], *,
                 context: KeyContext | None = None, workers: int = 0, sops: bool = True,
                 worktree: bool = True) -> SearchResult:
    return search_many(repos, probe, logs=logs, context=context, workers=workers, sops=sops, worktree=worktree)


def key_exposure(key: LeakedKey, repos: Sequence[Path], *, workers: int | None = None) -> KeyLeakResult:
    if workers is None:
        return exposure(repos, key)
    return exposure(repos, key, workers=workers)


def at_tips(result: KeyLeakResult) -> list[dict[str, Any]]:
    """Exposed versions that are still the current file at some ref tip."""
    from sopskit import gitio

    by_repo: dict[str, set[str]] = {}
    for e in result.exposed:
        by_repo.setdefault(e.repo, set()).add(e.blob)
    out: list[dict[str, Any]] = []
    for repo, oids in sorted(by_repo.items()):
        for oid, refs in sorted(gitio.blobs_at_tips(Path(repo), oids).items()):
            paths = next((e.paths for e in result.exposed if e.blob == oid and e.repo == repo), [])
            out.append({"repo": repo, "blob": oid, "paths": paths, "refs": sorted(refs)})
    return out


def key_runbook(result: KeyLeakResult, *, context: str | None = None) -> list[dict[str, Any]]:
    files = sorted({p for e in result.exposed for p in e.paths})
    secrets: list[dict[str, Any]] = []
    for e in result.exposed:
        for s in e.secrets:
            d = s.to_dict()
            if d["kind"] and d not in secrets:
                secrets.append(d)
    workloads = _workloads(secrets, sorted({Path(e.repo) for e in result.exposed}))
    return plan.key_runbook(list(result.key), files, secrets, context=context, workloads=workloads)


@dataclass
class StatusOutcome:
    report: record.StatusReport
    record: dict[str, Any]


def recheck(rec: dict[str, Any], *, context: KeyContext | None = None,
            repos: Sequence[Path] | None = None, now: _dt.datetime | None = None) -> StatusOutcome:
    """Re-search the surface named in the record and fold the result in (no value needed)."""
    repo_paths = [Path(r) for r in (repos if repos is not None else rec.get("repos") or [])]
    if rec["kind"] == "value":
        probe = record.keyed_probe(rec)
        result = search_many(repo_paths, probe, logs=[Path(d) for d in rec.get("logs") or []],
                             context=context)
        occurrences = [o.to_dict() for o in result.occurrences]
        rec["surface"] = {"checked": record.stamp(now), "occurrences": occurrences, "errors": result.errors}
        report = record.update_status(rec, len(occurrences) + len(result.errors), now=now,
                                      event={"occurrences": len(occurrences)})
    else:
        key = LeakedKey()
        for r in rec.get("leaked", {}).get("recipients") or []:
            if str(r).startswith("pgp:"):
                key.pgp.append(str(r)[4:])
            else:
                key.age.append(str(r))
        kres = exposure(repo_paths, key)
        tips = at_tips(kres)
        rec["surface"] = {"checked": record.stamp(now), "exposed": [e.to_dict() for e in kres.exposed],
                          "at_tips": tips, "errors": kres.errors}
        report = record.update_status(rec, len(tips) + len(kres.errors), now=now,
                                      event={"exposed": len(kres.exposed), "at_tips": len(tips)})
    return StatusOutcome(report, rec)


__all__ = ["StatusOutcome", "at_tips", "key_exposure", "key_runbook", "recheck", "search_value",
           "value_runbook"]
