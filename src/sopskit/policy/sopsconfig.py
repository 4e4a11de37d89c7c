"""The view of ``.sops.yaml`` the checks need: rule paths, age recipients, lines, ``sopskit:``.

Rules come from :func:`sopskit.config.parse_config`, so matching and key parsing are exactly
what ``sopskit encrypt`` uses (first match wins, unanchored search in the path relative to the
config directory). On top, this view keeps the text and node tree for line numbers, and treats
broken YAML as "no rules" (the ``yaml-parse-error`` check reports it) instead of stopping the
run. A well-formed file whose rules sopskit cannot load (a key or pattern it rejects) gives a
view without rules and with ``error`` set: the run goes on (the rule-based checks have nothing
to evaluate) and the command warns, so one rule never hides every other finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.config import CreationRule, parse_config
from sopskit.errors import SopsError
from sopskit.format.textcodec import decode_text
from sopskit.policy.yamldocs import YamlParse, parse_yaml_documents

CONFIG_NAME = ".sops.yaml"
#: the names a repository's sops configurations go by (sops reads only the first; 3.10+ warns on the second)
CONFIG_NAMES = (CONFIG_NAME, ".sops.yml")
_MAX_PARENTS = 100  # sops stops walking up after this many levels


@dataclass(frozen=True)
class RuleView:
    """One creation rule as the checks see it."""

    index: int
    path_regex: str | None
    age_recipients: tuple[str, ...]
    line: int
    rule: CreationRule = field(repr=False, compare=False)

    def matches(self, config_relative_path: str) -> bool:
        return self.rule.matches(config_relative_path)


@dataclass(frozen=True)
class SopsConfigView:
    """A parsed ``.sops.yaml``: where it is, its rules, and its raw ``sopskit:`` mapping."""

    path: Path
    text: str = field(repr=False)
    parse: YamlParse = field(repr=False)
    rules: tuple[RuleView, ...]
    settings: Mapping[str, Any]
    error: str | None = None

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
    """Read ``path``; broken YAML gives a view without rules (reported by the syntax check)."""
    text = decode_text(path.read_bytes(), errors="replace")
    parsed = parse_yaml_documents(text)
    document = parsed.documents[0] if parsed.documents and parsed.error is None else None
    if document is None or not isinstance(document.data, dict):
        return SopsConfigView(path=path, text=text, parse=parsed, rules=(), settings={})
    try:
        config = parse_config(text, path)
    except SopsError as exc:
        raw = document.data.get("sopskit")
        return SopsConfigView(
            path=path, text=text, parse=parsed, rules=(), settings=raw if isinstance(raw, dict) else {},
            error=str(exc),
        )
    rules = tuple(
        RuleView(
            index=rule.index,
            path_regex=rule.path_regex,
            age_recipients=tuple(dict.fromkeys(rule.recipients("age"))),
            line=document.line_of("creation_rules", rule.index),
            rule=rule,
        )
        for rule in config.creation_rules
    )
    return SopsConfigView(path=path, text=text, parse=parsed, rules=rules, settings=config.sopskit_settings)
