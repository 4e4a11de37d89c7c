"""Baselines: fingerprints of findings a team has reviewed and accepted.

A baseline holds only fingerprints (with the rule and path for the reader), never secrets,
so it can be committed. Matching is by fingerprint alone: moving an accepted test key to
another file does not resurrect it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from sopskit.errors import ConfigError, OutputError
from sopskit.scan.findings import Finding

BASELINE_VERSION = 1


def load_baseline(path: Path) -> frozenset[str]:
    """The accepted fingerprints in a baseline file written by :func:`write_baseline`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"baseline {path} is not valid JSON") from None
    entries = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"baseline {path} has no 'accepted' list")
    prints = {e.get("fingerprint") for e in entries if isinstance(e, dict)}
    return frozenset(p for p in prints if isinstance(p, str) and p.startswith("sha256:"))


def baseline_document(findings: Iterable[Finding]) -> dict[str, object]:
    seen: dict[str, dict[str, str]] = {}
    for f in findings:
        seen.setdefault(f.fingerprint, {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.path})
    accepted = sorted(seen.values(), key=lambda e: (e["path"], e["rule_id"]))
    return {"version": BASELINE_VERSION, "accepted": accepted}


def write_baseline(path: Path, findings: Iterable[Finding]) -> int:
    """Write the fingerprints of ``findings``; returns how many were written."""
    doc = baseline_document(findings)
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write baseline {path}: {exc.strerror}") from None
    accepted = doc["accepted"]
    return len(accepted) if isinstance(accepted, list) else 0
