"""``sopskit doctor``: where does decryption fail, and what fixes it.

Walks the chain Flux walks for every SOPS file (see :mod:`sopskit.doctor`) and prints, per file,
the first broken link and its fix, then the repository-wide checks and the verification
checklist. Exit 0 when nothing fails, 1 when a check fails, 2 on an error (bad flags, unreadable
repository). Never prints a value or key material.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sopskit.cli.options import add_jobs_flag

EPILOG = """\
examples:
  sopskit doctor                               (offline: public keys only, what CI can run)
  sopskit doctor flux/secrets/prod/db.yaml --cluster --context prod
  sopskit doctor --cluster --kustomization flux-system/apps --format json

Links, in the order Flux walks them (check ids are stable):
  sops.parse, sops.recipients, sopsyaml.rule, sopsyaml.shadow, flux.kustomization,
  flux.decryption, flux.kms-auth (files for cloud keys only: sops.azure-kv & co or workload
  identity), cluster.secret, cluster.recipient, sops.mac, cluster.rbac, flux.substitution
Offline, the cluster's public key is taken from a committed .sops.pub.age when there is one.
--cluster reads the decryption Secret (in memory; only public recipients are derived), the
Kustomizations' status, and asks whether the controller may read the Secret.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "doctor", help="find where decryption fails (.sops.yaml, keys, Flux wiring)",
        description="Walk the chain Flux walks to decrypt each SOPS file; name the first broken link.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", nargs="?", default=".", metavar="PATH",
                   help="a file or folder of the repository (default: the whole repository)")
    p.add_argument("--cluster", action="store_true", help="also ask the cluster (Secret, status, RBAC)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig file (implies --cluster; default: kubectl's)")
    p.add_argument("--context", dest="kube_context", default=None, help="kubeconfig context (implies --cluster)")
    p.add_argument("--kustomization", default=None, metavar="NS/NAME",
                   help="only the files this Flux Kustomization builds")
    p.add_argument("--format", dest="doctor_format", choices=("text", "json"), default="text")
    add_jobs_flag(p, what="files diagnosed at once")
    p.set_defaults(handler=run)


def _split_ref(value: str) -> tuple[str, str]:
    from sopskit.errors import UsageError

    namespace, _, name = value.partition("/")
    if not name or not namespace or "/" in name:
        raise UsageError(f"--kustomization wants NAMESPACE/NAME, not {value!r}")
    return namespace, name


def _root_and_scope(path: Path) -> tuple[Path, str]:
    """The repository root (nearest ``.git`` above PATH) and PATH relative to it."""
    from sopskit.errors import UsageError

    if not path.exists():
        raise UsageError(f"{path} does not exist")
    absolute = path.resolve()
    start = absolute if absolute.is_dir() else absolute.parent
    root = next((c for c in (start, *start.parents) if (c / ".git").exists()), start)
    return root, "" if absolute == root else absolute.relative_to(root).as_posix()


def run(args: argparse.Namespace) -> int:
    from sopskit.doctor import Options, diagnose
    from sopskit.errors import SopsError

    try:
        root, scope = _root_and_scope(Path(args.path))
        options = Options(scope=scope, workers=args.jobs)
        if args.kustomization:
            options.kustomization = _split_ref(args.kustomization)
        if args.cluster or args.kube_context or args.kubeconfig:
            from sopskit.k8s.client import connect

            options.cluster = connect(kubeconfig=args.kubeconfig, context=args.kube_context)
        report = diagnose(root, options)
    except SopsError as exc:
        print(f"sopskit: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
    if args.doctor_format == "json":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_text(report)
    return 0 if report.ok else 1


def print_text(report) -> None:  # type: ignore[no-untyped-def]
    """Failures with their fix, one line per file; unknowns grouped by reason; then the checklist."""
    from sopskit.doctor.model import CHAIN, TITLES

    chain_ids = {check_id for check_id, _ in CHAIN}
    out = sys.stdout
    mode = "with the cluster" if report.mode == "cluster" else "offline (public keys only)"
    print(f"sopskit doctor: {report.files} SOPS file(s), {mode}", file=out)
    unknown: dict[tuple[str, str], int] = {}
    failed_files: set[str] = set()
    for check in report.checks:
        if check.status == "fail":
            where = f"{check.file}: " if check.file else ""
            print(f"FAIL {where}[{check.id}] {check.message}", file=out)
            if check.fix:
                print(f"     fix: {check.fix}", file=out)
            if check.file and check.id in chain_ids:
                failed_files.add(check.file)
        elif check.status == "unknown":
            unknown[(check.id, check.message)] = unknown.get((check.id, check.message), 0) + 1
        elif check.file is None or check.id == "flux.ready":
            print(f"ok   [{check.id}] {check.message}", file=out)
    for (check_id, message), count in unknown.items():
        print(f"?    [{check_id}] {message}" + (f" ({count} files)" if count > 1 else ""), file=out)
    healthy = report.files - len(failed_files)
    if report.files:
        print(f"ok   {healthy} of {report.files} file(s) have no broken link", file=out)
    print("verification checklist:", file=out)
    for item in report.checklist:
        box = {"ok": "[x]", "fail": "[ ]", "unknown": "[?]"}[item.status]
        print(f"  {box} {TITLES.get(item.id, item.id)}: {item.message}", file=out)
        if item.fix:
            print(f"      fix: {item.fix}", file=out)
    failures = report.failures()
    print(f"{len(failures)} failing check(s)" if failures else "ok: nothing fails", file=out)
