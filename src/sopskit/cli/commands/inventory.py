"""``sopskit inventory`` and ``sopskit report``: who can decrypt what, and where the team stands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

INVENTORY_DESCRIPTION = """\
List every secret-bearing object of a repository: SOPS files (by Secret namespace/name and key
names), ExternalSecrets and their remote keys, SealedSecrets and plaintext Secret manifests.
For each: environment, recipients and who holds them, owner (CODEOWNERS or the
sopskit.io/owner annotation), when a value last changed (from Git history: when its
ciphertext last changed; no key needed) and whether rotation is due. Then the "who can
decrypt what" matrix: each key holder, the secrets its key opens, and holders whose key opens
more than one environment. Nothing is decrypted and no value is shown.

Key holders come from .sopskit-holders.yaml (or --holders FILE):
  holders:
    - {key: age1..., holder: cluster/prod, kind: cluster}   # cluster | person | ci | service
"""

INVENTORY_EPILOG = """\
examples:
  sopskit inventory
  sopskit inventory path/to/repo --format json --max-age 180
  sopskit inventory --holders ops/holders.yaml --no-history
"""

REPORT_DESCRIPTION = """\
Grade a repository on a secrets maturity model (levels 0-5) and answer the production checklist
yes / no / unknown (with the reason), each with its evidence, from the inventory and the
repository. The HTML form is one self-contained page (no network, no values) with the matrix
of who can decrypt what and a timeline of value changes.
"""

REPORT_EPILOG = """\
examples:
  sopskit report
  sopskit report --format md >> "$GITHUB_STEP_SUMMARY"
  sopskit report --format html --output secrets-report.html
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="repository root (default: .)")
    parser.add_argument("--holders", type=Path, metavar="FILE",
                        help="holders file mapping public keys to owners (default: .sopskit-holders.yaml)")
    parser.add_argument("--max-age", type=int, metavar="DAYS", dest="max_age",
                        help="rotation is due after DAYS without a value change (default: sopskit: "
                             "rotation_max_age_days in .sops.yaml, else 90)")
    history = parser.add_mutually_exclusive_group()
    # default=False: a store_false action defaults to True, which would turn history off by default
    history.add_argument("--history", action="store_false", dest="no_history", default=False,
                         help="read Git history for last-changed dates (the default)")
    history.add_argument("--no-history", action="store_true", help="do not read Git history (faster; no dates)")
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--cluster", action="append", default=[], metavar="CONTEXT", dest="clusters",
                        help="a kube context whose sops-age Secret names a cluster holder (repeat; the "
                             "identities are read into memory and only their public keys are kept)")
    parser.add_argument("--kubeconfig", help="kubeconfig for --cluster")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    inv = subparsers.add_parser("inventory", help="who can decrypt what: every secret, holder and owner",
                                description=INVENTORY_DESCRIPTION, epilog=INVENTORY_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(inv)
    inv.add_argument("--format", choices=("text", "json"), default="text")
    inv.set_defaults(handler=run_inventory)
    rep = subparsers.add_parser("report", help="secrets maturity level (0-5) and production checklist",
                                description=REPORT_DESCRIPTION, epilog=REPORT_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(rep)
    rep.add_argument("--format", choices=("text", "json", "md", "html"), default="text")
    rep.set_defaults(handler=run_report)


def _collect(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from sopskit.errors import InputError
    from sopskit.inventory.collect import collect

    root = Path(args.path)
    if not root.is_dir():
        raise InputError(f"{args.path}: not a directory", hint="pass the repository root (default: .)")
    if args.max_age is not None and args.max_age <= 0:
        raise InputError("--max-age must be a positive number of days")
    return collect(root, holders_path=args.holders, history=not args.no_history, max_age_days=args.max_age,
                   extra_holders=_cluster_holders(args))


def _cluster_holders(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Public key -> ``cluster/CONTEXT`` for each --cluster, from its sops-age Secret."""
    from sopskit.errors import InputError
    from sopskit.inventory.owners import KeyHolder

    holders = {}
    for context in args.clusters:
        from sopskit.k8s.agesecret import SecretRef, connect_client, read_recipients

        ref = SecretRef()  # flux-system/sops-age
        recipients = read_recipients(connect_client(kubeconfig=args.kubeconfig, context=context), ref)
        if recipients is None:
            raise InputError(f"context {context}: no {ref.namespace}/{ref.name} Secret")
        for recipient in recipients:
            holders[recipient] = KeyHolder(f"cluster/{context}", "cluster")
    return holders


def _write(args: argparse.Namespace, text: str) -> None:
    if args.output:
        from sopskit.ops.files import atomic_write

        atomic_write(args.output, text.encode(), default_mode=0o644)
        print(f"sopskit: wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run_inventory(args: argparse.Namespace) -> int:
    from sopskit.inventory import render

    inventory = _collect(args)
    _write(args, render.inventory_json(inventory) if args.format == "json" else render.inventory_text(inventory))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from sopskit.inventory import render
    from sopskit.inventory.maturity import grade

    report = grade(_collect(args))
    renderers = {"text": render.report_text, "json": render.report_json, "md": render.report_markdown,
                 "html": render.report_html}
    if args.format == "html" and not args.output and os.isatty(1):
        print("sopskit: HTML on a terminal; pass --output FILE", file=sys.stderr)
    _write(args, renderers[args.format](report))
    return 0
