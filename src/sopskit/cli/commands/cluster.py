"""``sopskit cluster init`` and ``sopskit cluster verify``: one age key per cluster.

The private key is printed to stdout exactly once (and nowhere else: no file, no log);
everything else goes to stderr, so ``sopskit cluster init > /dev/null`` still shows what
happened and ``sopskit cluster init | pass insert -m k8s/prod`` stores only the key.
"""

from __future__ import annotations

import argparse
import sys

INIT_EPILOG = """\
examples:
  sopskit cluster init --path-regex '^flux/secrets/prod/'
  sopskit cluster init --context prod --force                 (rotate the key, safely)
  sopskit cluster init --force --resume                       (continue a rotation after a push)
  sopskit cluster init --pq                                   (hybrid post-quantum key, age1pq1...)
  sopskit cluster init --force --pq                           (migrate a classical key to post-quantum)

The Secret flux-system/sops-age gets one data key, age.agekey, as Flux expects; the public
recipient goes into the .sops.yaml rule for --path-regex (created if missing, comments kept).
With --force the key is rotated in three runs, because Flux reads what is pushed, not your
work tree:
  1. every rule and file listing the old key gets the new one too; the cluster holds both.
     Commit and push.
  2. --resume (once Flux applied that push): the old key leaves the rules, every file gets a
     new data key for the new key only. Commit and push again.
  3. --resume (once Flux applied it): the cluster drops the old key.
--resume waits for the Flux Kustomizations decrypting with the Secret to report the pushed
commit Ready; --no-wait-for-flux skips that check. An interruption stops with the command to
resume; the state in .sopskit/rotation.json holds public keys only.
A rotation keeps the key type of the cluster's current key; --pq makes the new key post-quantum
(ML-KEM-768 + X25519). Every reader must support it: Flux >= 2.9, sops >= 3.12, age >= 1.3.
"""

VERIFY_EPILOG = """\
Checks that the recipients of the identities in the cluster Secret are in .sops.yaml and in
every encrypted file under the rule, and that the cluster's key really opens each file. Also
fails when a rule for the cluster key has no file (0 files checked) or never wins (an earlier
rule shadows it), when a rule lists a key a rotation retired, when the pushed files (the
upstream branch Flux pulls) do not open with the cluster's key, and on every broken link
`sopskit doctor --cluster` finds for the Kustomizations decrypting with the Secret.
Exit 0 when everything agrees, 1 with a report of each mismatch otherwise.
"""


def _add_cluster_flags(p: argparse.ArgumentParser) -> None:
    from sopskit.k8s.agesecret import DEFAULT_NAMESPACE, DEFAULT_SECRET_NAME

    p.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file (default: kubectl's)")
    p.add_argument("--context", dest="kube_context", default=argparse.SUPPRESS,
                   help="kubeconfig context (default: the current one)")
    p.add_argument("--namespace", default=DEFAULT_NAMESPACE,
                   help="namespace of the Secret (default %(default)s)")
    p.add_argument("--secret-name", default=DEFAULT_SECRET_NAME,
                   help="name of the Secret (default %(default)s)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from sopskit.k8s.workflow import DEFAULT_PATH_REGEX

    cluster = subparsers.add_parser(
        "cluster", help="the per-cluster age key (init, rotate, verify)",
        description="Manage the age key a cluster decrypts SOPS files with.",
    )
    sub = cluster.add_subparsers(dest="cluster_command", metavar="SUBCOMMAND")
    init = sub.add_parser(
        "init", help="create (or with --force rotate) the cluster key",
        description="Create the cluster's age key, store it in the cluster and in .sops.yaml.",
        epilog=INIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_cluster_flags(init)
    init.add_argument("--path-regex", default=DEFAULT_PATH_REGEX,
                      help="path_regex of the .sops.yaml rule for this cluster (default %(default)s)")
    init.add_argument("--force", action="store_true", help="rotate the key when the Secret already exists")
    init.add_argument("--resume", action="store_true",
                      help="continue a rotation after a pause or an interruption (with --force)")
    init.add_argument("--no-wait-for-flux", dest="wait_for_flux", action="store_false",
                      help="with --resume: do not wait for Flux to report the pushed revision Ready")
    init.add_argument("--pq", action="store_true",
                      help="make a hybrid post-quantum key (age1pq1..., needs Flux >= 2.9 / sops >= 3.12)")
    init.set_defaults(handler=run_init)

    verify = sub.add_parser(
        "verify", help="check the cluster key against .sops.yaml and the files",
        description="Check the cluster key against .sops.yaml and the encrypted files.",
        epilog=VERIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_cluster_flags(verify)
    verify.add_argument("--path-regex", default=None,
                        help="check only this rule (default: every rule listing a cluster recipient)")
    verify.set_defaults(handler=run_verify)


def _client(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from sopskit.k8s.agesecret import connect_client

    return connect_client(kubeconfig=getattr(args, "kubeconfig", None),
                          context=getattr(args, "kube_context", None))


def run_init(args: argparse.Namespace) -> int:
    from sopskit.k8s.agesecret import SecretRef
    from sopskit.k8s.workflow import cluster_key_generator, find_repo_root, init_cluster_key

    repo = find_repo_root()
    ref = SecretRef(args.namespace, args.secret_name)
    client = _client(args)
    result = init_cluster_key(repo, client=client, ref=ref, path_regex=args.path_regex,
                              force=args.force, resume=args.resume, wait_for_flux=args.wait_for_flux,
                              generate=cluster_key_generator(client, ref, pq=bool(args.pq), rotating=args.force))
    err = sys.stderr
    if result.rolled_back:
        print("The interrupted rotation had not stored its key in the cluster; it was undone and "
              "a new rotation was run.", file=err)
    if result.rotated_from:
        _report_rotation(result, err)
    else:
        if result.namespace_created:
            print(f"created namespace {result.ref.namespace}", file=err)
        print(f"created Secret {result.ref} (data key age.agekey)", file=err)
        print(f"added recipient {result.recipient} to the rule {args.path_regex!r} of {result.config_path}",
              file=err)
    if result.identity:
        print("The private key follows on stdout, once. Store it in your password manager now: "
              "it is written to no file, and the cluster Secret is its only other copy.", file=err)
        sys.stdout.write(result.identity + "\n")
        sys.stdout.flush()
    if not result.rotated_from:
        print("Next: commit .sops.yaml, and point your Flux Kustomization's spec.decryption at "
              f"secretRef {result.ref.name} (`sopskit repo init` does it).", file=err)
    return 0


def _report_rotation(result, err) -> None:  # type: ignore[no-untyped-def]
    from sopskit.k8s.workflow import RESUME_COMMAND

    rules = ", ".join(repr(r) if r is not None else "(no path_regex)" for r in result.rules)
    old = ", ".join(result.rotated_from)
    count = len(result.files_rekeyed)
    if result.paused == "pushed_both":
        print(f"rotating the key of {result.ref}: {old} -> {result.recipient}", file=err)
        print(f"step 1 of 3 done: rules {rules} and {count} file(s) are encrypted for both keys; the "
              "cluster holds both identities", file=err)
        print("Next: commit and push .sops.yaml and those files (git add -A && git commit -m 'Rotate the "
              f"cluster key' && git push); once Flux has applied that commit, run `{RESUME_COMMAND}`",
              file=err)
    elif result.paused == "pushed_new":
        print(f"step 2 of 3 done: the old key left rules {rules}; {count} file(s) have new data keys for "
              f"{result.recipient} only (the cluster still holds both identities)", file=err)
        print("Next: commit and push again (git add -A && git commit -m 'Remove the old cluster key' && "
              f"git push); once Flux has applied that commit, run `{RESUME_COMMAND}` to delete the old key "
              "from the cluster", file=err)
    else:
        print(f"finished rotating the key of {result.ref}: {old} -> {result.recipient}; the cluster holds "
              "the new identity only", file=err)


def run_verify(args: argparse.Namespace) -> int:
    from sopskit.k8s.agesecret import SecretRef
    from sopskit.k8s.workflow import find_repo_root, verify_cluster_key

    repo = find_repo_root()
    report = verify_cluster_key(repo, client=_client(args), ref=SecretRef(args.namespace, args.secret_name),
                                path_regex=args.path_regex)
    out = sys.stdout
    print(f"cluster Secret {report.ref}: {', '.join(report.cluster_recipients)}", file=out)
    for regex, recipients in report.rules.items():
        print(f"rule {regex!r}: {', '.join(recipients) or '(no age recipient)'}", file=out)
    print(f"files checked: {len(report.files)}", file=out)
    for note in report.notes:
        print(f"note: {note}", file=out)
    if report.ok:
        print("ok: the cluster key, .sops.yaml and the files agree", file=out)
        return 0
    for problem in report.problems:
        print(f"mismatch: {problem}", file=out)
    print("details, link by link: sopskit doctor --cluster", file=out)
    print(f"{len(report.problems)} mismatch(es)", file=sys.stderr)
    return 1
