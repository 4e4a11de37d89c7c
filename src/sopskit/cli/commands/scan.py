"""``sopskit scan``: find secrets in the work tree, the index or the whole history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

DESCRIPTION = """\
Find plaintext secrets before they reach a cluster or a remote: provider credentials (AWS,
GCP, Azure, GitHub, GitLab, Slack, Stripe, npm, SendGrid, Twilio, OpenAI...), private keys
(PEM, OpenSSH, PGP, age), passwords in URLs and assignments, plaintext Kubernetes Secret
manifests and Kustomize secretGenerator inputs.

SOPS-aware: ENC[...] values, sops metadata and age public keys are never findings; a file
a .sops.yaml creation rule covers but that is not encrypted is one, and so is a plaintext
value that the file's own sops rule (encrypted_regex...) says is encrypted.

Reports never contain a secret, only its fingerprint (sha256 of the exact secret).
"""

EPILOG = """\
examples:
  sopskit scan                               work tree (tracked + untracked, not ignored)
  sopskit scan --staged                      what the next commit would contain (pre-commit)
  sopskit scan --history                     every blob reachable from any branch, tag or stash
  sopskit scan --format sarif --output scan.sarif    for code-scanning upload
  sopskit scan --config .gitleaks.toml       gitleaks rules ([extend] useDefault adds ours)
  sopskit scan --write-baseline .sopskit-baseline.json   accept today's findings...
  sopskit scan --baseline .sopskit-baseline.json         ...and report only new ones

Silence one line with a trailing comment `sopskit:allow` (gitleaks:allow works too).
Exit status: 0 no findings, 1 findings, 2 error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "scan", help="find plaintext secrets (work tree, index, history)", description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    p.add_argument("--history", action="store_true", help="scan every blob reachable from any ref")
    p.add_argument("--staged", action="store_true", help="scan the index instead of the work tree")
    p.add_argument("--format", dest="report_format", choices=("text", "json", "sarif"), default="text")
    p.add_argument("--output", dest="report_file", metavar="FILE", help="write the report to FILE")
    p.add_argument("--config", dest="rules_file", metavar="RULES.toml",
                   help="rule file in the gitleaks TOML schema (replaces the default rules)")
    p.add_argument("--baseline", metavar="FILE", help="ignore findings whose fingerprint is in FILE")
    p.add_argument("--write-baseline", metavar="FILE", help="write the findings' fingerprints to FILE")
    p.add_argument("--engine", choices=("auto", "hyperscan", "python"), default="auto",
                   help="matching engine (auto: hyperscan when installed)")
    p.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: CPUs)")
    p.add_argument("--max-size", type=int, default=None, metavar="BYTES",
                   help="skip content larger than this (default 10 MiB); counted in the stats")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(handler=run)


def _progress_bar(stream: TextIO) -> tuple[object, object]:
    state = {"last": -1}

    def update(done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        if pct != state["last"]:
            state["last"] = pct
            filled = pct * 30 // 100
            stream.write(f"\rscanning history [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% {done}/{total}")
            stream.flush()

    def finish() -> None:
        if state["last"] >= 0:
            stream.write("\n")
            stream.flush()

    return update, finish


def run(args: argparse.Namespace) -> int:
    from sopskit.errors import SopsError

    try:
        return _run(args)
    except SopsError as exc:  # scan's contract: 2 on any error, 1 is reserved for findings
        print(f"sopskit: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from sopskit import scan as scanner
    from sopskit.errors import OutputError

    ruleset = scanner.load_rules(Path(args.rules_file)) if args.rules_file else None
    baseline = scanner.load_baseline(Path(args.baseline)) if args.baseline else frozenset()
    options = scanner.ScanOptions(
        paths=[Path(p) for p in args.paths], worktree=not (args.staged or args.history),
        staged=args.staged, history=args.history, ruleset=ruleset, baseline=baseline,
        engine=args.engine, workers=args.jobs,
        max_size=args.max_size if args.max_size is not None else scanner.DEFAULT_MAX_SIZE,
    )
    update = finish = None
    if args.history and not args.no_progress and sys.stderr.isatty():
        update, finish = _progress_bar(sys.stderr)
    try:
        report = scanner.scan(options, progress=update)  # type: ignore[arg-type]
    finally:
        if finish:
            finish()  # type: ignore[operator]
    if args.write_baseline:
        scanner.write_baseline(Path(args.write_baseline), report.findings)
    descriptions = {**scanner.BUILTIN_RULES,
                    **{r.id: r.description for r in (ruleset or scanner.load_default_rules()).rules}}
    if args.report_format == "json":
        text = scanner.to_json(report)
    elif args.report_format == "sarif":
        text = scanner.to_sarif(report, descriptions=descriptions)
    else:
        text = scanner.to_text(report, colour=not args.report_file and sys.stdout.isatty())
    if args.report_file:
        try:
            Path(args.report_file).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {args.report_file}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return 1 if report.findings else 0
