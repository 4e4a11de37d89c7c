"""``sopskit argocd discover|generate``: the Argo CD Config Management Plugin (sidecar v2).

See docs/argocd.md and deploy/argocd/. ``generate`` prints decrypted manifests to stdout only
when the whole build succeeded and every object is in scope; otherwise it prints one line to
stderr (no value) and exits 1, so Argo CD never receives a partial output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("argocd", help="Argo CD Config Management Plugin (discover, generate)",
                              description="Commands for the sopskit Argo CD plugin sidecar (docs/argocd.md).")
    sub = p.add_subparsers(dest="argocd_command", metavar="SUBCOMMAND")
    d = sub.add_parser("discover", help="exit 0 and print a line when the directory needs sopskit")
    d.set_defaults(handler=run_discover)
    g = sub.add_parser("generate", help="print the decrypted manifests of the Application directory")
    g.set_defaults(handler=run_generate)


def run_discover(args: argparse.Namespace) -> int:
    from sopskit.review.argocd import discover

    source = os.environ.get("ARGOCD_APP_SOURCE_PATH", "").strip("/")
    directory = Path.cwd()
    candidate = (directory / source).resolve() if source else directory
    # find.command runs in the repository root: look at the Application's path, if inside
    if source and candidate.is_dir() and candidate.is_relative_to(directory.resolve()):
        directory = candidate
    if discover(directory):
        sys.stdout.write("sopskit\n")
        return 0
    return 1


def run_generate(args: argparse.Namespace) -> int:
    import warnings

    from sopskit.errors import SopsError
    from sopskit.review.argocd import generate

    warnings.simplefilter("ignore")
    try:
        manifests = generate(Path.cwd(), dict(os.environ))
    except SopsError as exc:
        sys.stderr.write(f"sopskit argocd generate: {exc.message}\n")
        return exc.exit_code or 1
    except Exception as exc:  # fail closed without a traceback that could quote data
        sys.stderr.write(f"sopskit argocd generate: internal error ({type(exc).__name__})\n")
        return 1
    sys.stdout.write(manifests)
    sys.stdout.flush()
    return 0
