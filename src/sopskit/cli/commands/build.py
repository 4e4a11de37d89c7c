"""``sopskit build PATH | --kustomization NS/NAME``: what kustomize-controller would apply.

Decrypts generator inputs, patches and SOPS resources in memory (working copy on tmpfs), runs
the real kustomize and Flux's postBuild substitution, and prints the YAML with every secret value
replaced by ``REDACTED:<fingerprint>`` (random key per run). ``--show-values`` prints the values,
only to a terminal unless ``--force``. Details: docs/build.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sopskit.cli.options import add_cluster_identity_flags


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "build", help="render what Flux would apply, SOPS values decrypted in memory and redacted",
        description="Build a kustomization as kustomize-controller does (decrypt generator files/envs "
                    "and patches, kustomize build, decrypt SOPS resources with the MAC verified, "
                    "postBuild substitution) and print the YAML. Secret values are redacted unless "
                    "--show-values.",
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="directory to build (default: .)")
    p.add_argument("--kustomization", metavar="NS/NAME",
                   help="build the Flux Kustomization NS/NAME found in the repository (its path, "
                        "targetNamespace, postBuild, decryption)")
    p.add_argument("-C", "--repo", dest="repo", default=None, metavar="DIR",
                   help="repository root (default: the Git work tree holding PATH)")
    p.add_argument("--show-values", action="store_true",
                   help="print decrypted values (only to a terminal, unless --force)")
    p.add_argument("--force", action="store_true", help="allow --show-values into a file or a pipe")
    p.add_argument("--no-decrypt", action="store_true", help="build without decrypting anything")
    add_cluster_identity_flags(p, help="use the age identity of the cluster's sops-age Secret")
    p.set_defaults(handler=run_build)


def resolve_spec(args: argparse.Namespace) -> object:
    """The :class:`~sopskit.review.build.BuildSpec` the arguments describe."""
    from sopskit.errors import UsageError
    from sopskit.review.build import BuildSpec, spec_for_kustomization
    from sopskit.scan.sources import git_root

    if args.kustomization and args.path:
        raise UsageError("give PATH or --kustomization, not both")
    start = Path(args.path or ".").absolute()
    if not start.exists():
        raise UsageError(f"{args.path}: no such directory")
    cwd = Path.cwd()
    if args.repo:
        root = Path(args.repo).absolute()
    else:  # the Git work tree; outside Git the working directory if PATH is in it
        root = git_root(start) or (cwd if start.resolve().is_relative_to(cwd.resolve()) else start)
    root = root.resolve()
    if args.kustomization:
        namespace, sep, name = args.kustomization.partition("/")
        if not sep or not namespace or not name:
            raise UsageError("--kustomization takes NAMESPACE/NAME")
        spec = spec_for_kustomization(root, namespace, name)
    else:
        try:
            rel = start.resolve().relative_to(root).as_posix()
        except ValueError:
            raise UsageError(f"{args.path} is outside the repository {root}") from None
        spec = BuildSpec(root=root, path="" if rel == "." else rel)
    if args.no_decrypt:
        spec.decrypt = False
    return spec


def run_build(args: argparse.Namespace) -> int:
    from sopskit.cli import common
    from sopskit.errors import UsageError
    from sopskit.review.build import BuildSpec, build, redact, to_yaml
    from sopskit.review.fingerprint import Fingerprinter

    if args.show_values and not args.force and not sys.stdout.isatty():
        raise UsageError("refusing to write decrypted values to a file or a pipe",
                         hint="print to a terminal, or pass --force if you really mean it")
    spec = resolve_spec(args)
    assert isinstance(spec, BuildSpec)
    result = build(spec, context=common.key_context(args))
    resources = result.resources if args.show_values else \
        redact(result.resources, result.secrets, Fingerprinter())
    sys.stdout.write(to_yaml(resources))
    return 0
