"""The matching engine: which rules match a blob, and where.

Two stages, because almost every blob matches nothing. Stage one answers "could rule *r*
match here, and roughly where?" for all rules in a single pass; stage two confirms with the
rule's own Python regex, only around the hits. With Hyperscan (the ``scan`` extra) stage one
is one multi-pattern scan of the rules' prefilter regexes and stage two runs in small windows
around each hit; without it, stage one is a case-insensitive keyword check per rule (gitleaks's
approach) and stage two runs the regex over the blob. Both engines report the same matches;
Hyperscan is several times faster on large histories (see ``docs/scan.md``).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopskit.scan.rules import Rule, RuleSet


@dataclass(frozen=True)
class Match:
    """One confirmed regex match: the rule, the match span and the secret's span."""

    rule: Rule
    start: int
    end: int
    secret_start: int
    secret_end: int


def shannon_entropy(data: bytes) -> float:
    """Bits per symbol of ``data``: how random a candidate secret looks."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def _secret_span(m: Any, rule: Rule) -> tuple[int, int]:
    groups = m.re.groups or 0
    if rule.secret_group and rule.secret_group <= groups and m.group(rule.secret_group) is not None:
        return int(m.start(rule.secret_group)), int(m.end(rule.secret_group))
    for g in range(1, (m.re.groups or 0) + 1):
        if m.group(g):
            return int(m.start(g)), int(m.end(g))
    return int(m.start()), int(m.end())


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


class Matcher:
    """Finds every confirmed match of a rule set in a blob. Build once, reuse for many blobs."""

    def __init__(self, ruleset: RuleSet, *, engine: str = "auto") -> None:
        self.rules = tuple(r for r in ruleset.rules if r.regex is not None)
        self._hs: Any = None
        self._hs_rules: list[int] = []  # indexes into self.rules of rules the database covers
        self._always: list[int] = []  # rules hyperscan could not compile: checked by keywords
        self.engine = "python"
        if engine in ("auto", "hyperscan"):
            self._hs = self._build_hyperscan(engine == "hyperscan")
            if self._hs is not None:
                self.engine = "hyperscan"

    def _build_hyperscan(self, required: bool) -> Any:
        try:
            import hyperscan
        except ImportError:
            if required:
                from sopskit.errors import MissingExtraError

                raise MissingExtraError("the hyperscan scan engine", "scan") from None
            return None
        patterns = [(r.prefilter or "").encode() for r in self.rules]
        cached = _load_cached_database(hyperscan, patterns)
        if cached is not None:
            self._hs_rules = list(range(len(patterns)))
            return cached
        compiled = list(range(len(patterns)))
        try:
            db = _compile_hs(hyperscan, patterns)
        except hyperscan.error:
            # Probe one by one so a single unsupported pattern (e.g. from a gitleaks file) only
            # sends its own rule to the keyword path instead of disabling the engine.
            compiled = []
            for i, pattern in enumerate(patterns):
                try:
                    _compile_hs(hyperscan, [pattern])
                    compiled.append(i)
                except hyperscan.error:
                    self._always.append(i)
            if not compiled:
                return None
            db = _compile_hs(hyperscan, [patterns[i] for i in compiled])
        else:
            _store_cached_database(hyperscan, patterns, db)
        self._hs_rules = compiled
        return db

    def find(self, data: bytes) -> list[Match]:
        """All confirmed matches in ``data``, ordered by position then rule order."""
        found: list[Match] = []
        if self._hs is not None:
            hits: dict[int, list[int]] = {}

            def on_hit(pid: int, _from: int, to: int, _flags: int, _ctx: Any) -> None:
                hits.setdefault(pid, []).append(to)

            self._hs.scan(data, match_event_handler=on_hit)
            for pid, ends in hits.items():
                self._confirm_windows(data, self.rules[self._hs_rules[pid]], ends, found)
            if self._always:
                lowered = data.lower()
                for i in self._always:
                    self._confirm_keywords(data, lowered, self.rules[i], found)
        else:
            lowered = data.lower()
            for rule in self.rules:
                self._confirm_keywords(data, lowered, rule, found)
        order = {id(r): i for i, r in enumerate(self.rules)}
        found.sort(key=lambda m: (m.secret_start, order[id(m.rule)]))
        return found

    @staticmethod
    def _collect(rule: Rule, matches: Any, seen: set[tuple[int, int]], out: list[Match]) -> None:
        for m in matches:
            span = (m.start(), m.end())
            if span in seen:
                continue
            seen.add(span)
            s, e = _secret_span(m, rule)
            out.append(Match(rule, span[0], span[1], s, e))

    def _confirm_keywords(self, data: bytes, lowered: bytes, rule: Rule, out: list[Match]) -> None:
        if rule.keywords and not any(k in lowered for k in rule.keywords):
            return
        assert rule.regex is not None
        self._collect(rule, rule.regex.finditer(data), set(), out)

    def _confirm_windows(self, data: bytes, rule: Rule, ends: Sequence[int], out: list[Match]) -> None:
        assert rule.regex is not None
        seen: set[tuple[int, int]] = set()
        windows: list[list[int]] = []
        for e in sorted(ends):
            lo, hi = max(0, e - rule.lookbehind), min(len(data), e + rule.lookahead)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        for lo, hi in windows:
            self._collect(rule, rule.regex.finditer(data, _line_start(data, lo), hi), seen, out)


MatcherFactory = Callable[[RuleSet], Matcher]


def _compile_hs(hyperscan: Any, patterns: list[bytes]) -> Any:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
               flags=[0] * len(patterns))
    return db


def _cache_path(hyperscan: Any, patterns: list[bytes]) -> Path | None:
    """Compiled databases are cached: compiling the default set costs ~0.5 s, loading ~1 ms.

    ``SOPSKIT_SCAN_CACHE`` names the directory (``off`` disables it); default
    ``$XDG_CACHE_HOME/sopskit`` or ``~/.cache/sopskit``.
    """
    where = os.environ.get("SOPSKIT_SCAN_CACHE", "")
    if where == "off":
        return None
    home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    base = Path(where) if where else home_cache / "sopskit"
    digest = hashlib.sha256(b"\0".join([str(getattr(hyperscan, "__version__", "")).encode(), *patterns]))
    return base / f"scan-{digest.hexdigest()[:32]}.hsdb"


def _load_cached_database(hyperscan: Any, patterns: list[bytes]) -> Any:
    path = _cache_path(hyperscan, patterns)
    try:
        if path is None or not path.is_file():
            return None
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a deserialised database comes without scratch space
        db.scan(b"", match_event_handler=None)
        return db
    except Exception:  # a stale or foreign cache entry is simply rebuilt
        return None


def _store_cached_database(hyperscan: Any, patterns: list[bytes], db: Any) -> None:
    path = _cache_path(hyperscan, patterns)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(hyperscan.dumpb(db))
        tmp.replace(path)
    except OSError:
        pass
