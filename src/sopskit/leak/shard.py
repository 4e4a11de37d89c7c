"""Many repositories: a deterministic split into shards and the merge of their JSON lines.

A repository belongs to shard ``sha256(name) mod N``: the split does not depend on the order
or length of the list each worker was given, so N workers of a Kubernetes Indexed Job
(``JOB_COMPLETION_INDEX``) cover every repository exactly once. Each shard writes JSON lines
(one per occurrence, then one ``done`` line with its stats) holding fingerprints, ids and
paths only; ``merge`` joins them and refuses a set with a missing, unfinished or foreign shard.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sopskit.errors import FormatError, InputError, UsageError


def parse_shard(text: str, env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``I/N``, or ``N`` / ``/N`` with I from ``JOB_COMPLETION_INDEX``."""
    env = os.environ if env is None else env
    index_text, sep, count_text = text.rpartition("/")
    if not sep:
        index_text, count_text = "", text
    if not index_text:
        index_text = env.get("JOB_COMPLETION_INDEX", "")
        if not index_text:
            raise UsageError("--shard N needs JOB_COMPLETION_INDEX (or give --shard I/N)")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N with integers") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {text!r}: need 0 <= I < N")
    return index, count


def shard_of(name: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % count


def select(repos: Sequence[str], index: int, count: int) -> list[str]:
    return [r for r in repos if shard_of(r, count) == index]


def read_repo_list(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the repository list: {exc.strerror}") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def shard_lines(fingerprint: str, index: int, count: int, repos: Sequence[str],
                result: dict[str, Any]) -> list[str]:
    """JSON lines for one shard: occurrences, then the ``done`` line."""
    head = {"fingerprint": fingerprint, "shard": f"{index}/{count}"}
    lines = [json.dumps({**head, "occurrence": occ}, sort_keys=True) for occ in result["occurrences"]]
    lines.append(json.dumps({**head, "done": True, "repos": list(repos), "stats": result.get("stats", {}),
                             "errors": result.get("errors", [])}, sort_keys=True))
    return lines


def merge(files: Sequence[Path]) -> dict[str, Any]:
    """Join shard outputs into the ``leak value`` JSON document; every shard must be complete."""
    fingerprint: str | None = None
    count: int | None = None
    done: set[int] = set()
    occurrences: list[dict[str, Any]] = []
    errors: list[str] = []
    repos: list[str] = []
    for f in files:
        try:
            text = f.read_text()
        except OSError as exc:
            raise InputError(f"{f}: cannot read: {exc.strerror}") from None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                idx_text, _, count_text = str(item["shard"]).partition("/")
                idx, cnt = int(idx_text), int(count_text)
            except (ValueError, KeyError, TypeError):
                raise FormatError(f"{f}:{n}: not a leak shard line") from None
            if fingerprint is None:
                fingerprint, count = item.get("fingerprint"), cnt
            if item.get("fingerprint") != fingerprint or cnt != count:
                raise FormatError(f"{f}:{n}: shard of another search (fingerprint or shard count differs)")
            if item.get("done"):
                done.add(idx)
                errors.extend(item.get("errors") or [])
                repos.extend(item.get("repos") or [])
            elif "occurrence" in item:
                occurrences.append(item["occurrence"])
    if count is None:
        raise InputError("no shard output to merge")
    missing = sorted(set(range(count)) - done)
    if missing:
        raise InputError(f"incomplete: shard(s) {', '.join(map(str, missing))} of {count} did not finish")
    return {"fingerprint": fingerprint, "occurrences": occurrences, "repos": sorted(set(repos)),
            "errors": errors}


__all__ = ["merge", "parse_shard", "read_repo_list", "select", "shard_lines", "shard_of"]
