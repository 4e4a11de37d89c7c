"""The review as text (terminal), JSON (scripts) and Markdown (a pull-request comment).

Every renderer works from :class:`~sopskit.review.changes.Review`, which holds names only, so
no output format can carry a value.
"""

from __future__ import annotations

import html
import json

from sopskit.review.changes import FileChange, Review

_STATUS_WORDS = {
    "added": "new encrypted file",
    "modified": "modified",
    "deleted": "deleted",
    "decrypted": "DECRYPTED (left encryption)",
    "encrypted": "entered encryption",
}


def to_json(review: Review) -> str:
    return json.dumps(review.to_json(), indent=2, sort_keys=False) + "\n"


def _target(change: FileChange) -> str:
    if change.kind is None:
        return "(no Kubernetes kind)"
    where = f"{change.namespace}/" if change.namespace else ""
    return f"{change.kind} {where}{change.name or '<unnamed>'}"


def _lines(change: FileChange) -> list[tuple[str, str]]:
    """(label, text) pairs shared by the text and Markdown renderers."""
    out: list[tuple[str, str]] = []
    if change.previous is not None:
        ns, name = change.previous
        out.append(("moved", f"was {ns + '/' if ns else ''}{name or '<unnamed>'}"))
    for label, items in (("keys added", change.keys_added), ("keys removed", change.keys_removed),
                         ("keys changed", change.keys_changed),
                         ("recipients added", change.recipients_added),
                         ("recipients removed", change.recipients_removed)):
        if items:
            out.append((label, ", ".join(items)))
    if change.values_changed is not None:
        out.append(("values really changed", ", ".join(change.values_changed) or "none"))
    if change.status not in ("deleted",):
        verdict = "yes" if change.rule_matches else "NO"
        out.append(("matches .sops.yaml rule", verdict + (f" ({change.rule})" if change.rule else "")))
    if change.mac_changed:
        out.append(("MAC", "changed"))
    if change.lastmodified:
        out.append(("lastmodified", f"{change.lastmodified[0]} -> {change.lastmodified[1]}"))
    if change.consumers:
        out.append(("consumers", ", ".join(
            f"{c.kind} {c.namespace + '/' if c.namespace else ''}{c.name} ({c.via})" for c in change.consumers)))
    for hint in change.restart_hints:
        out.append(("restart", hint))
    for note in change.notes:
        out.append(("note", note))
    return out


def _printable(text: str) -> str:
    """No terminal control sequences from names taken from the repository."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def to_text(review: Review) -> str:
    return _printable_lines(_text(review))


def _printable_lines(text: str) -> str:
    return "\n".join(_printable(line) for line in text.split("\n"))


def _text(review: Review) -> str:
    if not review.files:
        return f"review {review.range}: no SOPS file changed\n"
    parts = [f"review {review.range}: {len(review.files)} SOPS file(s) changed\n"]
    for change in review.files:
        parts.append(f"\n{change.path}: {_STATUS_WORDS[change.status]}, {_target(change)}\n")
        parts.extend(f"  {label}: {text}\n" for label, text in _lines(change))
    return "".join(parts)


def _md_escape(text: str) -> str:
    """Text from the repository (paths, key names) made inert in a PR comment: no HTML, no
    links, no emphasis, no table breaks, no code-span escapes."""
    text = html.escape(text, quote=True)
    for char in "\\`*_[]()|#!~":
        text = text.replace(char, f"&#{ord(char)};")
    return text.replace("\n", " ")


def _code(text: str) -> str:
    return f"<code>{_md_escape(text)}</code>"


def to_markdown(review: Review) -> str:
    """A comment for a pull request: a summary table, then details per file."""
    out = [f"### SOPS secret changes ({_md_escape(review.range)})\n\n"]
    if not review.files:
        out.append("No SOPS file changed.\n")
        return "".join(out)
    warnings = [c for c in review.files if c.status == "decrypted" or not c.rule_matches]
    if warnings:
        out.append("> [!WARNING]\n")
        for change in warnings:
            reason = "left encryption" if change.status == "decrypted" else "recipients do not match .sops.yaml"
            out.append(f"> {_code(change.path)}: {reason}\n")
        out.append("\n")
    out.append("| File | Status | Secret | Keys +/-/~ | Recipients +/- | Rule | Consumers |\n")
    out.append("|---|---|---|---|---|---|---|\n")
    for c in review.files:
        keys = f"+{len(c.keys_added)} / -{len(c.keys_removed)} / ~{len(c.keys_changed)}"
        recipients = f"+{len(c.recipients_added)} / -{len(c.recipients_removed)}"
        rule = "n/a" if c.status == "deleted" else ("yes" if c.rule_matches else "**no**")
        out.append(f"| {_code(c.path)} | {_STATUS_WORDS[c.status]} | {_md_escape(_target(c))} | "
                   f"{keys} | {recipients} | {rule} | {len(c.consumers)} |\n")
    for c in review.files:
        out.append(f"\n<details><summary>{_code(c.path)}</summary>\n\n")
        for label, text in _lines(c):
            out.append(f"- **{label}**: {_md_escape(text)}\n")
        out.append("\n</details>\n")
    out.append("\n<sub>Generated by <code>sopskit review</code>: names only, no values.</sub>\n")
    return "".join(out)


RENDERERS = {"text": to_text, "json": to_json, "md": to_markdown}
