"""``sopskit review [RANGE]``: the secret changes of a range of commits, without plaintext.

Prints names only (Secret, entries, recipients, consumers), never a value; ``--format md`` is a
pull-request comment (see docs/review.md for a CI example). Exit 0 whatever the review found:
it informs a human; ``sopskit policy``/``scan`` are the gates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sopskit.cli.options import add_cluster_identity_flags


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "review", help="review the SOPS secret changes of a commit range without revealing values",
        description="For every SOPS file changed in RANGE: Secret kind/namespace/name, keys added/"
                    "removed/changed, recipients added/removed and whether they match .sops.yaml, MAC "
                    "and lastmodified changes, files that left or entered encryption, and the workloads "
                    "that consume the Secret. No key is needed; with --with-keys or --from-cluster the "
                    "values are also compared by keyed fingerprint (random key per run).",
    )
    p.add_argument("range", nargs="?", metavar="RANGE",
                   help="BASE..HEAD, BASE...HEAD (from the merge base) or BASE (=BASE..HEAD); "
                        "default: HEAD against the working tree")
    p.add_argument("--format", choices=("text", "json", "md"), default="text",
                   help="text (default), json for scripts, md for a pull-request comment")
    p.add_argument("-C", "--repo", dest="repo", default=".", metavar="DIR",
                   help="repository to review (default: the current directory)")
    p.add_argument("--with-keys", action="store_true",
                   help="decrypt both sides with the local identities (SOPS_AGE_KEY_FILE...) to tell "
                        "which values really changed")
    add_cluster_identity_flags(p, help="as --with-keys, with the identity from the cluster's sops-age Secret")
    p.add_argument("paths", nargs="*", metavar="PATH", help="only these repository paths")
    p.set_defaults(handler=run_review)


def run_review(args: argparse.Namespace) -> int:
    from sopskit.cli import common
    from sopskit.review.changes import review_range
    from sopskit.review.gitrev import parse_range, repo_root
    from sopskit.review.render import RENDERERS

    root = repo_root(Path(args.repo))
    rng = parse_range(root, args.range)
    context = common.key_context(args) if (args.with_keys or args.from_cluster) else None
    review = review_range(root, rng, context=context, paths=args.paths or None)
    sys.stdout.write(RENDERERS[args.format](review))
    return 0


def print_restart_hints(file: str | None) -> None:
    """After ``edit``/``set``: tell which workloads must restart to see the new value.

    Called at the very end of those commands; prints to stderr (stdout stays the command's)."""
    from sopskit.review.consumers import hints_after_change
    from sopskit.scan.sources import git_root

    if not file or file == "-":
        return
    path = Path(file).absolute()
    root = git_root(path)
    if root is None or not path.is_file():
        return
    try:
        found = hints_after_change(path, root)
    except Exception:  # a hint after a successful write must never turn it into a failure
        return
    if found is None:
        return
    secret, hints = found
    print(f"hint: {secret} is read from the environment; restart its consumers to apply the change:",
          file=sys.stderr)
    for hint in hints:
        print(f"  {hint}", file=sys.stderr)
