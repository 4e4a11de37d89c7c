"""SARIF 2.1.0 logs, the format code-scanning services read (GitHub, GitLab, Azure DevOps).

``scan`` and ``policy check`` (and ``flux validate``) each describe their own rules and
results; the envelope, the locations and the way the log is written are the same for all of
them and live here, so one reader-facing detail (schema, version, indentation) cannot drift
between commands.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"


def physical_location(uri: str, line: int | None = None, *, base_id: str | None = None) -> dict[str, Any]:
    """A result's place: the file (relative to ``base_id`` when given) and its line if known."""
    artifact: dict[str, Any] = {"uri": uri}
    if base_id is not None:
        artifact["uriBaseId"] = base_id
    location: dict[str, Any] = {"artifactLocation": artifact}
    if line:
        location["region"] = {"startLine": line}
    return location


def log(run: dict[str, Any]) -> dict[str, Any]:
    """A SARIF log with one run (``tool``, ``results`` and whatever else the run carries)."""
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


def dumps(data: dict[str, Any]) -> str:
    """The log as written to a file or stdout: two-space indented JSON and a final newline."""
    return json.dumps(data, indent=2) + "\n"


__all__ = ["SCHEMA", "VERSION", "dumps", "log", "physical_location"]
