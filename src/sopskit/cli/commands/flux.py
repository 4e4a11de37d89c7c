"""``sopskit flux validate``: what Flux needs to decrypt and build, checked before a push."""

from __future__ import annotations

import argparse

from sopskit.cli.commands.policy import add_report_arguments, run

DESCRIPTION = """\
Validate the Flux side of a SOPS set-up, which Flux itself only reports after a failed
reconcile: every Flux Kustomization that builds SOPS-encrypted files has
spec.decryption.provider: sops and a secretRef; every kustomization.yaml resource, patch and
generator file exists (and is not git-ignored); every encrypted file is referenced; a
decryption Secret kept in the repo uses key names Flux reads (*.agekey, *.asc, sops.*).
PATH is this repository's root. Only Kustomizations built from this repository are checked (its
flux-system GitRepository, or one whose URL is a git remote of PATH); OCIRepository, Bucket,
ExternalArtifact and other Git sources are "not checked" (listed with --verbose). Decryption
patched in by a parent Kustomization, or given by the controller's --sops-age-secret flag,
counts as set. Exit status 1 when anything is found.
"""

EPILOG = """\
examples:
  sopskit flux validate                         (the repository in the working directory)
  sopskit flux validate clusters-repo --format json
  sopskit flux validate -v                      (also what was not checked, and why)
  sopskit flux validate --format sarif --output flux.sarif
  sopskit flux validate --list-checks
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    flux = subparsers.add_parser(
        "flux", help="Flux checks (flux validate)",
        description="Checks for Flux kustomize-controller SOPS decryption.",
        epilog="examples:\n  sopskit flux validate\n  sopskit flux validate --format json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = flux.add_subparsers(dest="flux_command", metavar="ACTION")
    validate = actions.add_parser(
        "validate", help="validate Flux decryption settings and kustomize references",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arguments(validate)
    validate.set_defaults(handler=run, suite="flux")
