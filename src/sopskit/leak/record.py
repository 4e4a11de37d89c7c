"""The incident record: ``incidents/<id>.yaml``, fingerprints only, and its re-check.

Format (version 1, documented in docs/leak.md)::

    version: 1
    id: 20261203-0712-3f9a
    kind: value | key
    status: open | closed | reopened
    opened: 2026-12-03T07:12:00Z
    leaked: {description, fingerprint, hmac_key, forms: [...]}   # value leak
    leaked: {description, recipients: [...]}                     # key leak
    owners: [...]
    repos: [...]          # clones searched; logs: [...] directories searched
    surface: {checked, occurrences: [...]} | {checked, exposed: [...], at_tips: [...]}
    outside: [{id, surface, status}]
    runbook: [{id, step, command, status, ...}]
    follow_ups: [{id, task, status}]
    events: [{at, event, ...}]

``hmac_key`` lets ``leak status`` re-find the value without it (see
:mod:`sopskit.leak.probe`); it also lets whoever holds the record test guesses of the value,
so the record is written mode 0600 and belongs in a private place.
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.errors import FormatError, InputError
from sopskit.leak import plan
from sopskit.leak.probe import FingerprintProbe, Form, KeyedProbe, ValueProbe

VERSION = 1
OPEN, CLOSED, REOPENED = "open", "closed", "reopened"
_LISTS = ("outside", "runbook", "follow_ups")


def stamp(now: _dt.datetime | None = None) -> str:
    return (now or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(now: _dt.datetime | None = None) -> str:
    return (now or _dt.datetime.now(_dt.UTC)).strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


def record_path(target: str, incident_id: str) -> Path:
    """``--record`` names a ``.yaml`` file, or a directory that gets ``<id>.yaml``."""
    path = Path(target)
    if path.is_dir() or target.endswith(("/", os.sep)) or path.suffix not in (".yaml", ".yml"):
        return path / f"{incident_id}.yaml"
    return path


def value_record(probe: ValueProbe | FingerprintProbe, occurrences: list[dict[str, Any]], *, description: str,
                 owners: Sequence[str], repos: Sequence[str], logs: Sequence[str],
                 runbook: list[dict[str, Any]], now: _dt.datetime | None = None) -> dict[str, Any]:
    at = stamp(now)
    return {
        "version": VERSION, "id": new_id(now), "kind": "value", "status": OPEN, "opened": at,
        "leaked": _leaked(probe, description),
        "owners": list(owners), "repos": list(repos), "logs": list(logs),
        "surface": {"checked": at, "occurrences": occurrences},
        "outside": plan.outside_checklist(), "runbook": runbook, "follow_ups": plan.follow_ups(),
        "events": [{"at": at, "event": "opened", "occurrences": len(occurrences)}],
    }


def _leaked(probe: ValueProbe | FingerprintProbe, description: str) -> dict[str, Any]:
    if isinstance(probe, FingerprintProbe):
        return {"description": description, "fingerprint": probe.fingerprint, "scanner": True}
    return {"description": description, "fingerprint": probe.fingerprint,
            "hmac_key": base64.b64encode(probe.key).decode(), "forms": [f.to_dict() for f in probe.forms()]}


def key_record(recipients: Sequence[str], exposed: list[dict[str, Any]], at_tips: list[dict[str, Any]], *,
               description: str, owners: Sequence[str], repos: Sequence[str], runbook: list[dict[str, Any]],
               now: _dt.datetime | None = None) -> dict[str, Any]:
    at = stamp(now)
    return {
        "version": VERSION, "id": new_id(now), "kind": "key", "status": OPEN, "opened": at,
        "leaked": {"description": description, "recipients": list(recipients)},
        "owners": list(owners), "repos": list(repos), "logs": [],
        "surface": {"checked": at, "exposed": exposed, "at_tips": at_tips},
        "outside": plan.outside_checklist(), "runbook": runbook, "follow_ups": plan.follow_ups(),
        "events": [{"at": at, "event": "opened", "exposed": len(exposed)}],
    }


def save(path: Path, record: dict[str, Any]) -> None:
    import yaml

    from sopskit.ops.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(record, sort_keys=False, default_flow_style=False, width=120)
    atomic_write(path, text.encode(), default_mode=0o600)


def load(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no such incident record") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise FormatError(f"{path}: not a YAML incident record") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or data.get("kind") not in ("value", "key"):
        raise FormatError(f"{path}: not a sopskit incident record (version {VERSION})")
    return data


def keyed_probe(record: dict[str, Any]) -> KeyedProbe | FingerprintProbe:
    """The probe ``status`` re-checks with: the record's HMAC key and forms (or the scanner
    fingerprint), no value."""
    leaked = record.get("leaked") or {}
    if leaked.get("scanner"):
        return FingerprintProbe(str(leaked.get("fingerprint", "")))
    try:
        key = base64.b64decode(str(leaked["hmac_key"]))
        forms = [Form.from_dict(f) for f in leaked["forms"]]
        return KeyedProbe(str(leaked["fingerprint"]), key, forms)
    except (KeyError, TypeError, ValueError):
        raise FormatError("incident record: the leaked value's fingerprint data is missing or malformed") from None


def mark(record: dict[str, Any], item_ids: Sequence[str], status: str = plan.DONE) -> list[str]:
    """Set the status of runbook/outside/follow-up items; returns ids that were not found."""
    missing: list[str] = []
    for item_id in item_ids:
        hit = False
        for section in _LISTS:
            for item in record.get(section) or []:
                if isinstance(item, dict) and item.get("id") == item_id:
                    item["status"] = status
                    hit = True
        if not hit:
            missing.append(item_id)
    return missing


@dataclass
class StatusReport:
    incident: str
    status: str
    surface: int  # occurrences (value) or files still wrapped for the key at a ref tip (key)
    open_items: list[str] = field(default_factory=list)
    reopened: bool = False

    @property
    def is_open(self) -> bool:
        return self.surface > 0 or bool(self.open_items)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.incident, "status": self.status, "surface": self.surface,
                "open_items": self.open_items, "reopened": self.reopened}


def update_status(record: dict[str, Any], surface: int, *, now: _dt.datetime | None = None,
                  event: dict[str, Any] | None = None) -> StatusReport:
    """Fold a re-check into the record: close, keep open, or reopen when the leak reappears."""
    previous = record.get("status", OPEN)
    open_items = [f"{section}:{item.get('id')}" for section in _LISTS for item in record.get(section) or []
                  if isinstance(item, dict) and item.get("status") not in (plan.DONE, plan.NOT_APPLICABLE)]
    reopened = previous == CLOSED and surface > 0
    report = StatusReport(str(record.get("id")), previous, surface, open_items, reopened)
    report.status = REOPENED if reopened else (OPEN if report.is_open else CLOSED)
    if reopened:
        for item in record.get("runbook") or []:
            if isinstance(item, dict) and item.get("id") in ("rotate-credential", "rotate-exposed-values",
                                                            "history-hygiene"):
                item["status"] = plan.TODO
        report.open_items = [f"{s}:{i.get('id')}" for s in _LISTS for i in record.get(s) or []
                             if isinstance(i, dict) and i.get("status") not in (plan.DONE, plan.NOT_APPLICABLE)]
    record["status"] = report.status
    record.setdefault("events", []).append({"at": stamp(now), "event": f"status {report.status}",
                                            **(event or {})})
    return report


__all__ = ["CLOSED", "OPEN", "REOPENED", "StatusReport", "key_record", "keyed_probe", "load", "mark",
           "new_id", "record_path", "save", "stamp", "update_status", "value_record"]
