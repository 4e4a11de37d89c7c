"""``sopskit policy check``: the repository guardrails, as text, JSON or SARIF.

Also home of the report options and rendering that ``sopskit flux validate`` shares.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sopskit.policy import Report

DESCRIPTION = """\
Check a repository for secrets that escaped encryption and for SOPS set-ups that leak across
environments. Nothing is decrypted. Every violation names its check id, the file, the line and
the fix; exit status 1 when anything is found, 0 when clean.

Settings live in a top-level `sopskit:` mapping of the repository's .sops.yaml (sops ignores
it): secrets_root, environments, production_paths, externalsecret_prefixes,
platform_namespaces, exclude, disable, ignore. See docs/guardrails.md.
"""

EPILOG = """\
examples:
  sopskit policy check                          (the repository in the working directory)
  sopskit policy check path/to/repo --format json
  sopskit policy check --format sarif --output policy.sarif   (GitHub code scanning)
  sopskit policy check --disable terraform-sensitive-output
  sopskit policy check --only plaintext-secret --only private-key
  sopskit policy check --list-checks

exit status: 0 clean, 1 violations (or an error, reported on one line).
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    policy = subparsers.add_parser(
        "policy", help="repository guardrails (policy check)",
        description="Repository guardrails for SOPS-encrypted GitOps repositories.",
        epilog="examples:\n  sopskit policy check\n"
               "  sopskit policy check --format sarif --output policy.sarif\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = policy.add_subparsers(dest="policy_command", metavar="ACTION")
    check = actions.add_parser(
        "check", help="check a repository against the guardrails",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arguments(check)
    check.set_defaults(handler=run, suite="policy")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH and the output/selection flags both guardrail commands take."""
    parser.add_argument("path", nargs="?", default=".", metavar="PATH",
                        help="repository root to check (default: the working directory)")
    parser.add_argument("--format", dest="report_format", choices=("text", "json", "sarif"), default="text",
                        help="report format (default: text)")
    parser.add_argument("--output", default=argparse.SUPPRESS, metavar="FILE",
                        help="write the report to FILE instead of standard output")
    parser.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="the .sops.yaml to read settings and rules from (default: PATH/.sops.yaml or "
                             "the nearest one above it)")
    parser.add_argument("--only", action="append", default=[], metavar="CHECK_ID",
                        help="run only this check (repeatable)")
    parser.add_argument("--disable", action="append", default=[], metavar="CHECK_ID",
                        help="skip this check (repeatable; adds to sopskit.disable)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="text format: show every check's status (passed, not applicable, nothing to "
                             "check) and what it did not check (e.g. Kustomizations built from other sources)")
    parser.add_argument("--list-checks", action="store_true",
                        help="list the check ids with what they catch, and exit")


def run(args: argparse.Namespace) -> int:
    from sopskit.policy import run_suite

    suite: str = args.suite
    if args.list_checks:
        return _list_checks(suite)
    config = getattr(args, "config", None)
    report = run_suite(
        suite, Path(args.path),
        config_path=Path(config) if config else None,
        only=args.only, disable=args.disable,
    )
    _emit(report, args)
    return report.exit_code


def _list_checks(suite: str) -> int:
    from sopskit.policy.checks import SUITES

    for check in SUITES[suite]:
        print(f"{check.id}\n    {check.title}\n    catches: {check.catches}\n    fix: {check.fix}")
    return 0


def _emit(report: Report, args: argparse.Namespace) -> None:
    from sopskit.policy import render
    from sopskit.policy.output import summary_line

    for warning in report.warnings:
        print(f"sopskit: warning: {warning}", file=sys.stderr)
    output = getattr(args, "output", None)
    if output:
        Path(output).write_text(render(report, args.report_format, verbose=args.verbose), encoding="utf-8")
        print(summary_line(report), file=sys.stderr)
        return
    if args.report_format == "text" and _use_colour():
        _print_coloured(report, verbose=args.verbose)
        return
    sys.stdout.write(render(report, args.report_format, verbose=args.verbose))


def _use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _print_coloured(report: Report, *, verbose: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    from sopskit.policy.output import location, status_lines, summary_line

    console = Console(highlight=False, soft_wrap=True)
    for v in report.violations:
        where = escape(location(v.path, v.line))
        console.print(f"[bold]{where}[/]: [red]\\[{escape(v.check_id)}][/] {escape(v.message)}")
        console.print(f"    [green]fix:[/] {escape(v.fix)}")
    if verbose:
        for line in status_lines(report):
            console.print(escape(line))
    style = "green" if report.ok else "bold red"
    console.print(f"[{style}]{escape(summary_line(report))}[/]")
