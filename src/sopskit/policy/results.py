"""Violations and the report a run returns. Results, not errors: the command maps them to exit 1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sopskit.policy.check import Check


@dataclass(frozen=True)
class Violation:
    """One problem found in the repository.

    ``path`` is POSIX and relative to the checked root; ``line`` is 1-based or ``None`` when a
    line would mean nothing (a missing file). ``message`` says what is wrong and ``fix`` what
    to do; neither ever contains a secret value, only names, keys and paths.
    """

    check_id: str
    path: str
    line: int | None
    message: str
    fix: str

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line or 0, self.check_id, self.message)


#: A check found something / found nothing / needs a setting that is not set / had no input.
STATUSES = ("failed", "passed", "not-applicable", "nothing-to-check")


@dataclass(frozen=True)
class CheckStatus:
    """How one check ended: ``status`` (one of STATUSES), how many items it evaluated (None when
    the check does not count), and notes on what it left out (e.g. "not checked: ...")."""

    check_id: str
    status: str
    evaluated: int | None
    reason: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """What one run found: the checks that ran and their violations, sorted by location."""

    suite: str
    root: Path
    checks: tuple[Check, ...]
    violations: tuple[Violation, ...]
    files_checked: int
    statuses: tuple[CheckStatus, ...] = ()
    #: problems that limited the run without being findings (e.g. an unreadable .sops.yaml)
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when anything was found (the contract CI and pre-commit rely on)."""
        return 0 if self.ok else 1
