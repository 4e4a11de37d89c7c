"""Run one suite of checks over a directory and return a :class:`Report`.

Settings come from the ``sopskit:`` section of the ``.sops.yaml`` at the root (or the nearest one
above it); the command line can narrow the checks further with ``only``/``disable``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sopskit.errors import InputError, UsageError
from sopskit.policy.check import Check
from sopskit.policy.checks import ALL_CHECKS, SUITES
from sopskit.policy.context import CheckContext
from sopskit.policy.globs import matches_any
from sopskit.policy.repo import load_repo
from sopskit.policy.results import CheckStatus, Report, Violation
from sopskit.policy.settings import PolicySettings, settings_from_mapping
from sopskit.policy.sopsconfig import SopsConfigView, find_sops_config, read_sops_config


def run_suite(
    suite: str,
    root: Path,
    *,
    config_path: Path | None = None,
    only: Iterable[str] = (),
    disable: Iterable[str] = (),
) -> Report:
    """Check ``root`` with the ``suite`` ("policy" or "flux") and return what was found."""
    if suite not in SUITES:
        raise UsageError(f"unknown check suite {suite!r}")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory", hint="pass the repository root (default: .)")
    sops_config = _load_config(root, config_path)
    settings = (
        settings_from_mapping(sops_config.settings, source=str(sops_config.path))
        if sops_config is not None
        else PolicySettings()
    )
    checks = select_checks(SUITES[suite], only=only, disable=(*settings.disable, *disable))
    repo = load_repo(root, exclude=settings.exclude)
    ctx = CheckContext(repo=repo, settings=settings, sops_config=sops_config)
    violations = [
        violation
        for check in checks
        for violation in check.run(ctx)
        if not matches_any(violation.path, settings.ignore.get(violation.check_id, ()))
    ]
    unique = {(v.check_id, v.path, v.line, v.message): v for v in violations}
    return Report(
        suite=suite,
        root=repo.root,
        checks=checks,
        violations=tuple(sorted(unique.values(), key=Violation.sort_key)),
        files_checked=len(repo.files),
        statuses=_statuses(checks, ctx, unique.values()),
        warnings=(
            (f"{sops_config.error}; creation-rule checks ran without rules",)
            if sops_config is not None and sops_config.error
            else ()
        ),
    )


def _statuses(checks: tuple[Check, ...], ctx: CheckContext, found: Iterable[Violation]) -> tuple[CheckStatus, ...]:
    failed = {v.check_id for v in found}
    statuses = []
    for check in checks:
        evaluated = ctx.evaluated.get(check.id)
        reason = ctx.not_applicable.get(check.id, "")
        if check.id in failed:
            status = "failed"
        elif reason:
            status = "not-applicable"
        elif evaluated == 0:
            status = "nothing-to-check"
        else:
            status = "passed"
        statuses.append(CheckStatus(check.id, status, evaluated, reason, tuple(ctx.notes.get(check.id, ()))))
    return tuple(statuses)


def check_policy(
    root: Path, *, config_path: Path | None = None, only: Iterable[str] = (), disable: Iterable[str] = ()
) -> Report:
    """``sopskit policy check``: the repository guardrails."""
    return run_suite("policy", root, config_path=config_path, only=only, disable=disable)


def validate_flux(
    root: Path, *, config_path: Path | None = None, only: Iterable[str] = (), disable: Iterable[str] = ()
) -> Report:
    """``sopskit flux validate``: Flux decryption and kustomize references."""
    return run_suite("flux", root, config_path=config_path, only=only, disable=disable)


def select_checks(
    available: tuple[Check, ...], *, only: Iterable[str], disable: Iterable[str]
) -> tuple[Check, ...]:
    """The checks to run; an unknown id is a usage error (a typo must not silently disable nothing)."""
    only, disable = tuple(only), tuple(disable)
    unknown = sorted((set(only) | set(disable)) - set(ALL_CHECKS))
    if unknown:
        raise UsageError(
            f"unknown check id(s): {', '.join(unknown)}",
            hint="`sopskit policy check --list-checks` shows them",
        )
    return tuple(c for c in available if (not only or c.id in only) and c.id not in disable)


def _load_config(root: Path, config_path: Path | None) -> SopsConfigView | None:
    if config_path is not None:
        if not config_path.is_file():
            raise InputError(f"{config_path}: config file not found")
        return read_sops_config(config_path)
    found = find_sops_config(root)
    return read_sops_config(found) if found is not None else None
