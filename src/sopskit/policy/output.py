"""Render a :class:`Report` as text, JSON or SARIF 2.1.0. Returns strings; the CLI prints.

The JSON shape (``version`` 1) is stable for scripts::

    {"version": 1, "tool": "sopskit", "suite": "policy", "root": "/abs/path",
     "summary": {"violations": 2, "files_checked": 40, "checks": ["plaintext-secret", ...],
                 "warnings": list(report.warnings),
            "check_status": {"plaintext-secret": {"status": "failed", "evaluated": 3,
                                  "reason": "", "notes": []}, ...}},
     "violations": [{"check": "plaintext-secret", "path": "a.yaml", "line": 3,
                     "message": "...", "fix": "..."}]}

SARIF carries every check that ran as a rule (id, title, what it catches, how to fix) so code
scanning UIs can show the help, and every violation as a result with a ``%SRCROOT%``-relative
location.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from sopskit import sarif
from sopskit.policy.results import Report

FORMATS = ("text", "json", "sarif")
_INFORMATION_URI = "https://github.com/sopskit/sopskit/blob/main/docs/guardrails.md"


def render(report: Report, output_format: str, *, verbose: bool = False) -> str:
    if output_format == "json":
        return render_json(report)
    if output_format == "sarif":
        return render_sarif(report)
    return render_text(report, verbose=verbose)


def location(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def status_lines(report: Report) -> list[str]:
    """Per check: its status, why when it did not apply, and what it left out (--verbose)."""
    lines: list[str] = []
    for status in report.statuses:
        counted = f", {status.evaluated} evaluated" if status.evaluated is not None else ""
        reason = f": {status.reason}" if status.reason else ""
        lines.append(f"check {status.check_id}: {status.status}{counted}{reason}")
        lines.extend(f"    {note}" for note in status.notes)
    return lines


def render_text(report: Report, *, verbose: bool = False) -> str:
    """One line per violation, then its fix, then (verbose) the check statuses, then a summary."""
    lines: list[str] = []
    for violation in report.violations:
        lines.append(
            f"{location(violation.path, violation.line)}: [{violation.check_id}] {violation.message}"
        )
        lines.append(f"    fix: {violation.fix}")
    if verbose:
        lines.extend(status_lines(report))
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def summary_line(report: Report) -> str:
    count = len(report.violations)
    checks = len(report.checks)
    if count == 0:
        if not report.statuses:
            return f"ok: {checks} checks passed on {report.files_checked} files"
        labels = {"not-applicable": "not applicable", "nothing-to-check": "with nothing to check"}
        by = {s: sum(1 for x in report.statuses if x.status == s) for s in ("passed", *labels)}
        extra = "".join(f", {by[key]} {label}" for key, label in labels.items() if by[key])
        return f"ok: {by['passed']} checks passed{extra} on {report.files_checked} files"
    files = len({v.path for v in report.violations})
    plural = "s" if count != 1 else ""
    return f"{count} violation{plural} in {files} file{'s' if files != 1 else ''} ({checks} checks)"


def to_json_data(report: Report) -> dict[str, Any]:
    return {
        "version": 1,
        "tool": "sopskit",
        "suite": report.suite,
        "root": str(report.root),
        "summary": {
            "violations": len(report.violations),
            "files_checked": report.files_checked,
            "checks": [check.id for check in report.checks],
            "check_status": {
                s.check_id: {"status": s.status, "evaluated": s.evaluated, "reason": s.reason, "notes": list(s.notes)}
                for s in report.statuses
            },
        },
        "violations": [
            {"check": v.check_id, "path": v.path, "line": v.line, "message": v.message, "fix": v.fix}
            for v in report.violations
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(to_json_data(report), indent=2) + "\n"


def to_sarif_data(report: Report) -> dict[str, Any]:
    index = {check.id: i for i, check in enumerate(report.checks)}
    rules = [
        {
            "id": check.id,
            "name": "".join(part.capitalize() for part in check.id.split("-")),
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.catches},
            "help": {"text": check.fix, "markdown": f"**Fix:** {check.fix}"},
            "helpUri": f"{_INFORMATION_URI}#{check.id}",
            "defaultConfiguration": {"level": "error"},
        }
        for check in report.checks
    ]
    results = []
    for v in report.violations:
        physical = sarif.physical_location(v.path, v.line, base_id="%SRCROOT%")
        result: dict[str, Any] = {
            "ruleId": v.check_id,
            "level": "error",
            "message": {"text": f"{v.message}. Fix: {v.fix}"},
            "locations": [{"physicalLocation": physical}],
        }
        if v.check_id in index:
            result["ruleIndex"] = index[v.check_id]
        results.append(result)
    return sarif.log({
        "tool": {
            "driver": {
                "name": "sopskit",
                "version": _version(),
                "informationUri": _INFORMATION_URI,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.as_uri() + "/"}},
        "results": results,
    })


def render_sarif(report: Report) -> str:
    return sarif.dumps(to_sarif_data(report))


def _version() -> str:
    try:
        return metadata.version("sopskit")
    except metadata.PackageNotFoundError:
        return "0+unknown"
