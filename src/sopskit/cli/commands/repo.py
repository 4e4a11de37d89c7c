"""``sopskit repo init``: scaffold (or complete) a GitOps secrets repository, idempotently."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
examples:
  sopskit repo init                              (environments: existing folders, else dev and prod)
  sopskit repo init --env dev --env staging --env prod

Creates or completes: .sops.yaml (one rule per environment, encrypted_regex
'^(data|stringData)$'), .gitignore guards (*.agekey, *.dec.yaml, *.decrypted.*, .env),
ROOT/ENV/kustomization.yaml, .pre-commit-config.yaml with sopskit's hooks, and
spec.decryption (provider sops, secretRef sops-age) in each Flux Kustomization whose
spec.path covers a secrets folder. Running it again changes nothing.
Then run `sopskit cluster init --path-regex '^ROOT/ENV/'` once per cluster.

Azure Key Vault (a rule with azure_keyvault, or --azure-kv URL for new rules):
  sopskit repo init --azure-kv URL --azure-identity CLIENT_ID [--azure-tenant-id TENANT_ID]
      patches kustomize-controller in the kustomization.yaml that installs Flux (workload
      identity: ServiceAccount annotation + pod label); no credential anywhere
  sopskit repo init --azure-secret
      prints how to put a sops.azure-kv entry in the decryption Secret from stdin
  sopskit repo init --gcp-service-account EMAIL | --aws-role-arn ARN
      the same for GCP KMS (iam.gke.io/gcp-service-account) and AWS KMS (eks.amazonaws.com/role-arn)
A Kustomization for cloud keys only gets decryption.provider sops without a secretRef.
"""

DEFAULT_ENVIRONMENTS = ("dev", "prod")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from sopskit.ops.scaffold import SECRETS_ROOT

    repo = subparsers.add_parser("repo", help="scaffold a GitOps secrets repository",
                                 description="Scaffold a GitOps secrets repository.")
    sub = repo.add_subparsers(dest="repo_command", metavar="SUBCOMMAND")
    init = sub.add_parser("init", help="lay out .sops.yaml, guards, folders and Flux wiring",
                          description="Lay out the secrets repository (idempotent).",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("--env", dest="environments", action="append", default=[], metavar="ENV",
                      help="an environment (repeat the flag for several)")
    init.add_argument("--root", default=SECRETS_ROOT, help="secrets folder (default %(default)s)")
    init.add_argument("--dir", default=".", help="repository directory (default: the current one)")
    azure = init.add_argument_group("Azure Key Vault (Flux decryption wiring)")
    azure.add_argument("--azure-kv", metavar="URL", help="key URL written as azure_keyvault in new rules")
    how = azure.add_mutually_exclusive_group()
    how.add_argument("--azure-identity", metavar="CLIENT_ID",
                     help="managed identity client ID for kustomize-controller's workload identity")
    how.add_argument("--azure-secret", action="store_true",
                     help="use a sops.azure-kv entry in the decryption Secret (prints the command)")
    azure.add_argument("--azure-tenant-id", metavar="TENANT_ID", help="tenant of the managed identity (optional)")
    other = init.add_argument_group("GCP KMS and AWS KMS (Flux decryption wiring)")
    other.add_argument("--gcp-service-account", metavar="EMAIL",
                       help="Google service account kustomize-controller impersonates (GKE workload identity)")
    other.add_argument("--aws-role-arn", metavar="ARN", help="IAM role kustomize-controller assumes (EKS IRSA)")
    init.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    from sopskit.errors import UsageError
    from sopskit.ops.fluxauth import aws_identity, azure_identity, gcp_identity
    from sopskit.ops.scaffold import env_path_regex, init_repo, known_environments

    repo = Path(args.dir).absolute()
    environments = list(dict.fromkeys(args.environments)) or known_environments(repo, root=args.root) \
        or list(DEFAULT_ENVIRONMENTS)
    if args.azure_tenant_id and not args.azure_identity:
        raise UsageError("--azure-tenant-id goes with --azure-identity CLIENT_ID")
    identities = [
        *([azure_identity(args.azure_identity, args.azure_tenant_id)] if args.azure_identity else []),
        *([gcp_identity(args.gcp_service_account)] if args.gcp_service_account else []),
        *([aws_identity(args.aws_role_arn)] if args.aws_role_arn else []),
    ]
    report = init_repo(repo, environments, root=args.root, azure_kv=args.azure_kv, identities=identities,
                       azure_secret=args.azure_secret)
    out = sys.stdout
    for path in report.created:
        print(f"created {path}", file=out)
    for path in report.updated:
        print(f"updated {path}", file=out)
    if not report.changed:
        print("nothing to do: the repository is already set up", file=out)
    for note in report.notes:
        print(note if note.startswith("  ") else f"note: {note}", file=out)
    print(f"environments: {', '.join(environments)}", file=out)
    print("next: one cluster key per environment, e.g.", file=out)
    regex = env_path_regex(environments[0], root=args.root)
    print(f"  sopskit cluster init --context <ctx> --path-regex '{regex}'", file=out)
    return 0
