"""The view of ``.sops.yaml`` the checks need: rule paths, age recipients, lines, ``sopskit:``.

This is the one seam to :mod:`sopskit.config`. It reads the file with the tolerant YAML
parser because the checks also need line numbers (to point at a recipient in the file) and
must report a broken ``.sops.yaml`` as a finding rather than stop. Rule matching follows sops:
first match wins, a rule without ``path_regex`` matches everything, and the regex is searched
unanchored in the path relative to the config file's directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.policy.yamldocs import YamlDocument, YamlParse, parse_yaml_documents

CONFIG_NAME = ".sops.yaml"
_MAX_PARENTS = 100  # sops stops walking up after this many levels


@dataclass(frozen=True)
class RuleView:
    """One creation rule as the checks see it."""

    index: int
    path_regex: str | None
    age_recipients: tuple[str, ...]
    line: int

    def matches(self, config_relative_path: str) -> bool:
        """sops semantics: unanchored search; an invalid (non-Python) regex matches nothing."""
        if self.path_regex is None:
            return True
        try:
            return re.search(self.path_regex, config_relative_path) is not None
        except re.error:
            return False


@dataclass(frozen=True)
class SopsConfigView:
    """A parsed ``.sops.yaml``: where it is, its rules, and its raw ``sopskit:`` mapping."""

    path: Path
    text: str = field(repr=False)
    parse: YamlParse = field(repr=False)
    rules: tuple[RuleView, ...]
    settings: Mapping[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent

    def rule_for(self, config_relative_path: str) -> RuleView | None:
        """The first matching rule, as sops picks it."""
        return next((rule for rule in self.rules if rule.matches(config_relative_path)), None)

    def line_of_text(self, needle: str, *, from_line: int = 1) -> int | None:
        """First 1-based line at or after ``from_line`` containing ``needle``."""
        for number, line in enumerate(self.text.splitlines(), start=1):
            if number >= from_line and needle in line:
                return number
        return None


def find_sops_config(start: Path, *, stop_at: Path | None = None) -> Path | None:
    """``start/.sops.yaml`` or the nearest one above it (not above ``stop_at`` when given)."""
    current = start.resolve()
    for _ in range(_MAX_PARENTS):
        candidate = current / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if stop_at is not None and current == stop_at.resolve():
            return None
        if current.parent == current:
            return None
        current = current.parent
    return None


def read_sops_config(path: Path) -> SopsConfigView:
    """Read ``path`` without raising on broken YAML (the syntax check reports it)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    parsed = parse_yaml_documents(text)
    document = parsed.documents[0] if parsed.documents else None
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    raw_rules = data.get("creation_rules")
    rules: list[RuleView] = []
    if isinstance(raw_rules, list) and document is not None:
        for index, raw in enumerate(raw_rules):
            if not isinstance(raw, dict):
                continue
            regex = raw.get("path_regex")
            rules.append(
                RuleView(
                    index=index,
                    path_regex=regex if isinstance(regex, str) and regex else None,
                    age_recipients=tuple(dict.fromkeys(_age_recipients(raw))),
                    line=document.line_of("creation_rules", index),
                )
            )
    settings = data.get("sopskit")
    return SopsConfigView(
        path=path,
        text=text,
        parse=parsed,
        rules=tuple(rules),
        settings=settings if isinstance(settings, dict) else {},
    )


def config_document(view: SopsConfigView) -> YamlDocument | None:
    return view.parse.documents[0] if view.parse.documents else None


def _age_recipients(rule: Mapping[str, Any]) -> Iterator[str]:
    """Rule-level ``age`` and every key group's ``age`` (``merge`` included)."""
    yield from _split_keys(rule.get("age"))
    groups = rule.get("key_groups")
    if isinstance(groups, list):
        for group in groups:
            yield from _group_recipients(group)


def _group_recipients(group: Any) -> Iterator[str]:
    if not isinstance(group, dict):
        return
    yield from _split_keys(group.get("age"))
    merged = group.get("merge")
    if isinstance(merged, list):
        for sub in merged:
            yield from _group_recipients(sub)


def _split_keys(value: Any) -> Iterator[str]:
    """A comma-separated string or a list of (possibly comma-separated) strings."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            yield from (part.strip() for part in item.split(",") if part.strip())
