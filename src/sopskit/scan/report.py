"""Rendering a scan report as text, JSON or SARIF 2.1.0. Returns strings; never prints."""

from __future__ import annotations

import json
from typing import Any

from sopskit import sarif
from sopskit.scan.findings import ScanReport

TOOL_URI = "https://github.com/sopskit/sopskit"

_RED, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def to_json(report: ScanReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def to_text(report: ScanReport, *, colour: bool = False) -> str:
    """One line per finding, then a summary; ANSI colour only when asked (a TTY)."""
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    lines = []
    for f in report.findings:
        where = f"{f.path}:{f.line}"
        if f.commit:
            where += f" @ {f.commit[:12]}"
            if f.first:
                where += f" ({f.first.date[:10]}"
                later = f.last and f.last != f.first
                where += f" .. {f.last.commit[:12]} {f.last.date[:10]})" if f.last and later else ")"
        lines.append(f"{paint(_BOLD, where)}  {paint(_RED, f.rule_id)}  {paint(_DIM, f.fingerprint[:19])}")
    s = report.stats
    skipped = ", ".join(f"{n} {k}" for k, n in sorted(s.skipped.items())) or "none"
    lines.append(
        f"{s.findings} finding(s) in {s.items_scanned} item(s), {s.bytes_scanned} bytes "
        f"[{'+'.join(s.sources)}; engine {s.engine}; {s.seconds:.2f}s]; skipped: {skipped}"
    )
    if s.suppressed:
        lines.append("suppressed: " + ", ".join(f"{n} by {k}" for k, n in sorted(s.suppressed.items())))
    return "\n".join(lines) + "\n"


def to_sarif(report: ScanReport, *, descriptions: dict[str, str]) -> str:
    """A SARIF 2.1.0 log with one run; the fingerprint goes in ``partialFingerprints``."""
    rule_ids = sorted({f.rule_id for f in report.findings})
    index = {r: i for i, r in enumerate(rule_ids)}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": "error",
            "message": {"text": f"{descriptions.get(f.rule_id, f.rule_id)} (secret redacted)"},
            "locations": [{"physicalLocation": sarif.physical_location(f.path, max(1, f.line))}],
            "partialFingerprints": {"secretSha256/v1": f.fingerprint.removeprefix("sha256:")},
        }
        if f.commit:
            result["properties"] = {"commit": f.commit, "source": f.source,
                                    "firstDate": f.first.date if f.first else None,
                                    "lastCommit": f.last.commit if f.last else None}
        results.append(result)
    return sarif.dumps(sarif.log({
        "tool": {"driver": {
            "name": "sopskit-scan", "informationUri": TOOL_URI,
            "rules": [{"id": r, "name": r, "shortDescription": {"text": descriptions.get(r, r)}}
                      for r in rule_ids],
        }},
        "results": results,
        "properties": {"stats": report.stats.to_dict()},
    }))
