"""Inventory and report as text, JSON, Markdown and one self-contained HTML page.

The HTML page loads nothing from the network (inline CSS, no script), so it can be mailed or
attached to a ticket; like every other form it holds key names and public keys, never a value.
"""

from __future__ import annotations

import html
import json

from sopskit.inventory.maturity import MaturityReport
from sopskit.inventory.model import Inventory

_MARK = {"yes": "✔", "no": "✘", "unknown": "?"}


def inventory_json(inv: Inventory) -> str:
    return json.dumps(inv.to_json(), indent=2, sort_keys=False) + "\n"


def inventory_text(inv: Inventory) -> str:
    lines = [f"{len(inv.secrets)} secret-bearing object(s) in {inv.root}", ""]
    for s in inv.secrets:
        who = ", ".join(sorted({r.holder for r in s.recipients})) or "-"
        target = f"{s.namespace or '-'}/{s.name}" if s.name else "-"
        due = "  ROTATION DUE" if s.rotation_due else ""
        users = f"  consumers={len(s.consumers)}" if s.consumers else ""
        lines.append(f"{s.path}  {s.kind} {target}  env={s.environment}  {s.protection}  keys={len(s.keys)}  "
                     f"owner={s.owner or '-'}  last_changed={(s.last_changed or '-')[:10]}  holders={who}{users}{due}")
    lines += ["", "who can decrypt what:"]
    for h in inv.holders:
        flag = "  OPENS SEVERAL ENVIRONMENTS" if h.spans_environments else ""
        lines.append(f"  {h.holder} ({h.holder_kind}) {h.key}: {len(h.secrets)} secret(s) in "
                     f"{', '.join(h.environments)}{flag}")
    lines += [f"note: {n}" for n in inv.notes]
    return "\n".join(lines) + "\n"


def report_json(report: MaturityReport) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


def report_text(report: MaturityReport) -> str:
    lines = [f"maturity level: {report.level} of 5", ""]
    for a in report.checklist:
        lines.append(f"[{_MARK[a.answer]}] L{a.level} {a.item}: {a.answer} ({a.evidence})")
    if report.missing_for_next:
        lines += ["", f"missing for level {report.level + 1}:"] + [f"  - {m}" for m in report.missing_for_next]
    return "\n".join(lines) + "\n"


def report_markdown(report: MaturityReport) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"## Secrets maturity: level {report.level} of 5", "", "| | Level | Item | Evidence |",
             "|---|---|---|---|"]
    lines += [f"| {_MARK[a.answer]} | {a.level} | {cell(a.item)} | {cell(a.evidence)} |" for a in report.checklist]
    inv = report.inventory
    lines += ["", "### Who can decrypt what", "", "| Holder | Kind | Key | Environments | Secrets |",
              "|---|---|---|---|---|"]
    lines += [f"| {cell(h.holder)} | {h.holder_kind} | `{cell(h.key)}` | {', '.join(h.environments)} | "
              f"{len(h.secrets)} |" for h in inv.holders]
    if report.missing_for_next:
        lines += ["", f"### Missing for level {report.level + 1}", ""]
        lines += [f"- {cell(m)}" for m in report.missing_for_next]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.yes{color:#1a7f37}.no{color:#cf222e}.unknown{color:#9a6700}
.level{font-size:2.5rem;font-weight:700}.warn{background:#fff8c5}
.open{background:#dafbe1;text-align:center}.bar{background:#0969da;height:.6rem;border-radius:.3rem}
code{font-size:.8rem;word-break:break-all}
"""


def report_html(report: MaturityReport) -> str:
    e = html.escape
    inv = report.inventory
    envs = inv.environments or ["unknown"]
    rows = "".join(
        f"<tr><td class='{a.answer}'>{_MARK[a.answer]} {a.answer}</td><td>{a.level}</td><td>{e(a.item)}</td>"
        f"<td>{e(a.evidence)}</td></tr>" for a in report.checklist)
    matrix_head = "".join(f"<th>{e(env)}</th>" for env in envs)
    matrix = "".join(
        f"<tr class='{'warn' if h.spans_environments else ''}'><td>{e(h.holder)}</td><td>{e(h.holder_kind)}</td>"
        f"<td><code>{e(h.key)}</code></td>"
        + "".join(f"<td class='open'>{h.per_environment.get(env, '')}</td>" for env in envs)
        + "</tr>" for h in inv.holders)
    dated = sorted((s for s in inv.secrets if s.last_changed), key=lambda s: s.last_changed or "")
    timeline = "".join(
        f"<tr><td>{e((s.last_changed or '')[:10])}</td><td>{e(s.path)}</td><td>{e(s.environment)}</td>"
        f"<td>{'rotation due' if s.rotation_due else ''}</td></tr>" for s in dated)
    missing = "".join(f"<li>{e(m)}</li>" for m in report.missing_for_next)
    inventory_rows = "".join(
        f"<tr><td>{e(s.path)}</td><td>{e(s.kind)}</td><td>{e(s.namespace or '')}</td><td>{e(s.name or '')}</td>"
        f"<td>{e(s.environment)}</td><td>{e(s.protection)}</td><td>{e(', '.join(s.keys))}</td>"
        f"<td>{e(s.owner or '')}</td></tr>" for s in inv.secrets)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Secrets maturity report</title><style>{_CSS}</style></head>
<body>
<h1>Secrets maturity report</h1>
<p class="level" id="level">Level {report.level} of 5</p>
<p>{e(inv.root)}: {len(inv.secrets)} secret-bearing object(s), {len(inv.holders)} key holder(s).</p>
{f"<h2>Missing for level {report.level + 1}</h2><ul>{missing}</ul>" if missing else ""}
<h2>Production checklist</h2>
<table id="checklist"><tr><th>Answer</th><th>Level</th><th>Item</th><th>Evidence</th></tr>{rows}</table>
<h2>Who can decrypt what</h2>
<table id="matrix"><tr><th>Holder</th><th>Kind</th><th>Key</th>{matrix_head}</tr>{matrix}</table>
<h2>Timeline of value changes</h2>
<table id="timeline"><tr><th>Last changed</th><th>File</th><th>Environment</th><th></th></tr>{timeline}</table>
<h2>Inventory</h2>
<table id="inventory"><tr><th>File</th><th>Kind</th><th>Namespace</th><th>Name</th><th>Environment</th>
<th>Protection</th><th>Keys</th><th>Owner</th></tr>{inventory_rows}</table>
</body></html>
"""

