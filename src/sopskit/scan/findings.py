"""Findings and statistics: what a scan returns. A finding never holds the secret.

The secret is kept only as ``fingerprint = "sha256:<hex of the exact secret bytes>"`` so a
baseline can accept it and two reports can be compared, while the report itself is safe to
upload (SARIF to code scanning, JSON to CI logs).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

REDACTED = "<redacted>"


def fingerprint(secret: bytes) -> str:
    """The public identity of a secret: its SHA-256, prefixed with the algorithm."""
    return "sha256:" + hashlib.sha256(secret).hexdigest()


@dataclass(frozen=True)
class BlobFinding:
    """A finding inside one piece of content, before it is placed in a path or commit."""

    rule_id: str
    line: int
    fingerprint: str
    path: str  # the path the content was checked under
    generic: bool = False
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class CommitRef:
    commit: str
    date: str  # author date, ISO 8601


@dataclass
class Finding:
    """One secret at one place: a path (and, for history, the commits carrying it)."""

    rule_id: str
    description: str
    path: str
    line: int
    fingerprint: str
    source: str  # "worktree", "staged" or "history"
    commit: str | None = None
    blob: str | None = None
    first: CommitRef | None = None
    last: CommitRef | None = None
    commits: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id, "path": self.path, "line": self.line, "commit": self.commit,
            "fingerprint": self.fingerprint, "secret": REDACTED, "description": self.description,
            "source": self.source,
        }
        if self.source == "history":
            out["blob"] = self.blob
            out["first_commit"] = self.first.commit if self.first else None
            out["first_date"] = self.first.date if self.first else None
            out["last_commit"] = self.last.commit if self.last else None
            out["last_date"] = self.last.date if self.last else None
            out["commits"] = self.commits
        return out


@dataclass
class ScanStats:
    """What was looked at, what was skipped and why, and how long it took."""

    sources: list[str] = field(default_factory=list)
    engine: str = "python"
    items_scanned: int = 0  # files (worktree) or unique blobs (staged, history)
    bytes_scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)  # findings dropped: allow, baseline
    findings: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources, "engine": self.engine, "items_scanned": self.items_scanned,
            "bytes_scanned": self.bytes_scanned, "skipped": dict(sorted(self.skipped.items())),
            "suppressed": dict(sorted(self.suppressed.items())), "findings": self.findings,
            "by_rule": dict(sorted(self.by_rule.items())), "commits": self.commits,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScanReport:
    findings: list[Finding]
    stats: ScanStats

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "stats": self.stats.to_dict()}
