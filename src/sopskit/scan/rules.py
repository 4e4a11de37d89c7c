"""Detection rules as data: the default set and gitleaks TOML rule files.

One schema serves both, the gitleaks one (``[[rules]]`` with ``id``, ``regex``,
``secretGroup``, ``entropy``, ``keywords``, ``path``, allowlists), so a team's existing
``.gitleaks.toml`` works unchanged with ``--config``. gitleaks writes Go RE2 regexes; the
few RE2 spellings Python's ``re`` rejects (inline flags in mid-pattern, ``\\z``, POSIX
classes) are translated on load. A rule that still does not compile is a
:class:`~sopskit.errors.ConfigError` naming the rule, because silently dropping a rule
would silently drop findings.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sopskit.errors import ConfigError
from sopskit.format.goregex import translate_go_regex

DEFAULT_LOOKAHEAD = 512
DEFAULT_LOOKBEHIND = 1024


@dataclass(frozen=True)
class Allowlist:
    """Conditions under which a match is not a finding (gitleaks ``allowlist``)."""

    regexes: tuple[re.Pattern[bytes], ...] = ()
    regex_target: str = "secret"  # "secret", "match" or "line"
    paths: tuple[re.Pattern[str], ...] = ()
    stopwords: tuple[bytes, ...] = ()
    commits: frozenset[str] = frozenset()
    condition: str = "OR"  # "OR": any condition allows; "AND": all configured ones must

    def allows(self, *, secret: bytes, match: bytes, line: bytes, path: str, commit: str | None) -> bool:
        """True when this allowlist excuses the match."""
        checks: list[bool] = []
        if self.regexes:
            target = {"match": match, "line": line}.get(self.regex_target, secret)
            checks.append(any(r.search(target) for r in self.regexes))
        if self.paths:
            checks.append(any(p.search(path) for p in self.paths))
        if self.stopwords:
            low = secret.lower()
            checks.append(any(w in low for w in self.stopwords))
        if self.commits:
            checks.append(commit is not None and commit in self.commits)
        if not checks:
            return False
        return all(checks) if self.condition == "AND" else any(checks)


@dataclass(frozen=True)
class Rule:
    """One detector: a regex whose ``secret_group`` is the secret, plus its gates."""

    id: str
    description: str
    regex: re.Pattern[bytes] | None
    prefilter: str | None = None  # pattern text for the multi-pattern engine
    secret_group: int = 0
    entropy: float = 0.0
    keywords: tuple[bytes, ...] = ()
    path: re.Pattern[str] | None = None
    allowlists: tuple[Allowlist, ...] = ()
    tags: frozenset[str] = frozenset()
    lookahead: int = DEFAULT_LOOKAHEAD
    lookbehind: int = DEFAULT_LOOKBEHIND

    @property
    def is_generic(self) -> bool:
        return "generic" in self.tags


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    allowlists: tuple[Allowlist, ...] = field(default=())

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def _compile(pattern: str, what: str) -> re.Pattern[bytes]:
    try:
        return re.compile(translate_go_regex(pattern).encode())
    except re.error as exc:
        raise ConfigError(f"{what}: invalid regex: {exc}") from None


def _compile_path(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(translate_go_regex(pattern))
    except re.error as exc:
        raise ConfigError(f"{what}: invalid path regex: {exc}") from None


def _allowlist(raw: dict[str, Any], what: str) -> Allowlist:
    return Allowlist(
        regexes=tuple(_compile(r, what) for r in raw.get("regexes", [])),
        regex_target=str(raw.get("regexTarget", "secret")).lower(),
        paths=tuple(_compile_path(p, what) for p in raw.get("paths", [])),
        stopwords=tuple(str(w).lower().encode() for w in raw.get("stopwords", [])),
        commits=frozenset(str(c) for c in raw.get("commits", [])),
        condition=str(raw.get("condition", "OR")).upper(),
    )


def _allowlists(raw: dict[str, Any], what: str) -> tuple[Allowlist, ...]:
    found: list[dict[str, Any]] = []
    if isinstance(raw.get("allowlist"), dict):  # gitleaks < 8.21
        found.append(raw["allowlist"])
    found.extend(a for a in raw.get("allowlists", []) if isinstance(a, dict))  # gitleaks >= 8.21
    return tuple(_allowlist(a, what) for a in found)


def _rule(raw: dict[str, Any], index: int) -> Rule:
    rule_id = str(raw.get("id") or f"rule-{index}")
    what = f"rule {rule_id!r}"
    regex_text = raw.get("regex")
    path_text = raw.get("path")
    if not regex_text and not path_text:
        raise ConfigError(f"{what} has neither regex nor path")
    regex = _compile(regex_text, what) if regex_text else None
    prefilter = raw.get("prefilter")
    if prefilter:
        _compile(prefilter, f"{what} prefilter")
    return Rule(
        id=rule_id,
        description=str(raw.get("description", rule_id)),
        regex=regex,
        prefilter=translate_go_regex(prefilter or regex_text) if regex_text else None,
        secret_group=int(raw.get("secretGroup", 0)),
        entropy=float(raw.get("entropy", 0.0)),
        keywords=tuple(str(k).lower().encode() for k in raw.get("keywords", [])),
        path=_compile_path(path_text, what) if path_text else None,
        allowlists=_allowlists(raw, what),
        tags=frozenset(str(t).lower() for t in raw.get("tags", [])),
        lookahead=int(raw.get("lookahead", DEFAULT_LOOKAHEAD)),
        lookbehind=int(raw.get("lookbehind", DEFAULT_LOOKBEHIND)),
    )


def parse_rules(text: str, *, source: str = "rules") -> RuleSet:
    """Parse a rule file in the gitleaks TOML schema.

    ``[extend] useDefault = true`` (gitleaks's way of adding to its built-in rules) adds
    sopskit's default rules after the file's own, so the file's rules win overlaps.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    rules = [_rule(r, i) for i, r in enumerate(data.get("rules", []))]
    allowlists = list(_allowlists(data, f"{source} global allowlist"))
    extend = data.get("extend", {})
    if isinstance(extend, dict) and extend.get("useDefault"):
        base = load_default_rules()
        own = {r.id for r in rules}
        disabled = set(extend.get("disabledRules", []))
        rules.extend(r for r in base.rules if r.id not in own and r.id not in disabled)
        allowlists.extend(base.allowlists)
    if not rules:
        raise ConfigError(f"{source}: no rules defined")
    return RuleSet(tuple(rules), tuple(allowlists))


def load_rules(path: Path) -> RuleSet:
    """Load a gitleaks-schema TOML rule file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rule file {path}: {exc.strerror}") from None
    return parse_rules(text, source=str(path))


_DEFAULT: RuleSet | None = None


def load_default_rules() -> RuleSet:
    """The built-in rules shipped as ``sopskit/scan/rules/default.toml`` (parsed once)."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("sopskit.scan").joinpath("rules/default.toml").read_text(encoding="utf-8")
        _DEFAULT = parse_rules(text, source="default rules")
    return _DEFAULT
