"""``sopskit diff --cluster [--context C] PATH``: Git's Secrets against the live ones, per key.

PATH is a SOPS file (decrypted in memory, MAC verified) or a directory (built as ``sopskit
build`` does). Each key is ``same``, ``differs``, ``missing`` or ``extra``; values are compared
by HMAC under a random per-run key, locally. Exit 0 when everything is equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "diff", help="compare Git's decrypted Secrets with the live cluster, key by key, without values",
        description="For every Secret of PATH (a SOPS file, or a directory built like `sopskit build`): "
                    "same / differs / missing / extra per key against the live Secret. Compared "
                    "locally by keyed fingerprint (random key per run). Exit 0 when all equal, 1 otherwise.",
    )
    p.add_argument("--cluster", action="store_true", required=True, help="compare with the live cluster")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    p.add_argument("--context", dest="kube_context", default=None, help="kubeconfig context")
    p.add_argument("-n", "--namespace", default="default",
                   help="namespace of Secrets that name none (default: default)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--from-cluster", action="store_true",
                   help="decrypt with the age identity of the cluster's sops-age Secret")
    p.add_argument("--kustomization", default=None, help=argparse.SUPPRESS)
    p.add_argument("--repo", default=None, help=argparse.SUPPRESS)
    p.add_argument("--no-decrypt", action="store_true", default=False, help=argparse.SUPPRESS)
    p.set_defaults(handler=run_diff)


def desired_objects(args: argparse.Namespace) -> list[dict[str, Any]]:
    from sopskit.cli import common
    from sopskit.errors import InputError

    path = Path(args.path)
    context = common.key_context(args)
    if path.is_dir():
        from sopskit.cli.commands.build import resolve_spec
        from sopskit.review.build import BuildSpec, build

        spec = resolve_spec(args)
        assert isinstance(spec, BuildSpec)
        return build(spec, context=context).resources
    if not path.is_file():
        raise InputError(f"{args.path}: no such file or directory")
    from sopskit.ops.sopsfile import plain_documents

    return plain_documents(path.read_bytes(), name=path, context=context)


def run_diff(args: argparse.Namespace) -> int:
    """Exit 0 all equal, 1 any difference; an error never exits 1 (CI reads 1 as "drift")."""
    from sopskit.errors import SopsError
    from sopskit.k8s.client import connect
    from sopskit.review.drift import compare_secrets, to_json, to_text

    try:
        desired = desired_objects(args)
        client = connect(kubeconfig=args.kubeconfig, context=args.kube_context)
        results = compare_secrets(desired, client.read_secret, default_namespace=args.namespace)
    except SopsError as exc:
        if exc.exit_code == 1:  # generic errors (cluster unreachable, RBAC, config): 2, as InputError
            exc.exit_code = 2
        raise
    sys.stdout.write(to_json(results) if args.format == "json" else to_text(results))
    return 0 if all(d.in_sync for d in results) else 1
