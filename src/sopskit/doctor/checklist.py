"""The seed's verification checklist, each item ticked, failed or "unknown" with the reason.

1. values are ``ENC[...]``: every SOPS file parses, and no Secret manifest a Kustomization builds
   carries plain ``data``/``stringData``;
2. no plaintext in the diff: no changed file (``git status``) is a plaintext Secret manifest;
3. the Kustomization is Ready (cluster mode);
4. the Secret exists in its namespace (cluster mode; existence only, never values).
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from sopskit.doctor.model import Check
from sopskit.errors import SopsError
from sopskit.policy.repo import RepoFile, is_kind, name_of

if TYPE_CHECKING:
    from sopskit.doctor.chain import _Context
    from sopskit.doctor.model import Report


def _plain_secrets(file: RepoFile) -> bool:
    """True when the file holds a Secret manifest with values and no SOPS metadata."""
    if file.is_encrypted or file.yaml is None:
        return False
    return any(
        is_kind(doc.data, "Secret") and (doc.data.get("data") or doc.data.get("stringData"))
        for doc in file.yaml.documents
    )


def _changed(ctx: _Context) -> list[str] | None:
    if not ctx.repo.is_git:
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(ctx.repo.root), "status", "--porcelain", "-z", "--untracked-files=all"],
            capture_output=True, check=False, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    entries = [e for e in done.stdout.decode("utf-8", "replace").split("\0") if e]
    return [e[3:] for e in entries if len(e) > 3]


def add_checklist(ctx: _Context, report: Report, files: list[RepoFile]) -> None:
    add = report.checklist.append
    parse_failures = [c.file for c in report.checks if c.id == "sops.parse" and c.status == "fail"]
    built = set().union(*(ks.builds for ks in ctx.kustomizations)) if ctx.kustomizations else set()
    candidates = [ctx.repo.by_rel[r] for r in sorted(built) if r in ctx.repo.by_rel]
    plain = [f.rel for f in candidates if _plain_secrets(f)]
    if parse_failures or plain:
        bad = [*(p for p in parse_failures if p), *plain]
        add(Check("checklist.encrypted", "fail", "not encrypted or unreadable: " + ", ".join(bad[:10]), None,
                  "encrypt plaintext Secrets in place: `sopskit encrypt -i FILE`"))
    else:
        add(Check("checklist.encrypted", "ok", f"{len(files)} SOPS file(s) parse and no built Secret is plaintext"))
    changed = _changed(ctx)
    if changed is None:
        add(Check("checklist.no-plaintext-diff", "unknown", "not a Git work tree"))
    else:
        leaks = [rel for rel in changed if rel in ctx.repo.by_rel and _plain_secrets(ctx.repo.by_rel[rel])]
        if leaks:
            add(Check("checklist.no-plaintext-diff", "fail", "changed plaintext Secret manifest(s): "
                      + ", ".join(leaks[:10]), None, "encrypt them (`sopskit encrypt -i FILE`), then "
                      "`sopskit scan --staged` before committing"))
        else:
            add(Check("checklist.no-plaintext-diff", "ok", f"{len(changed)} changed file(s), none a plaintext "
                      "Secret (`sopskit scan --staged` looks for other secrets)"))
    live = [ks for ks in ctx.kustomizations if ks.status is not None]
    if ctx.options.cluster is None:
        add(Check("checklist.kustomization-ready", "unknown", "offline: run with --cluster"))
        add(Check("checklist.secret-exists", "unknown", "offline: run with --cluster"))
        return
    if not live:
        add(Check("checklist.kustomization-ready", "unknown", "the cluster reports no Flux Kustomization"))
    else:
        not_ready = [ks.label for ks in live if (ks.ready() or {}).get("status") != "True"]
        add(Check("checklist.kustomization-ready", "fail" if not_ready else "ok",
                  ("not Ready: " + ", ".join(not_ready)) if not_ready else f"{len(live)} Kustomization(s) Ready",
                  None, "see the flux.ready checks above" if not_ready else None))
    _secrets_exist(ctx, report, files)


def _secrets_exist(ctx: _Context, report: Report, files: list[RepoFile]) -> None:
    client = ctx.options.cluster
    assert client is not None
    expected: list[tuple[str, str]] = []
    for file in files:
        builders = [ks for ks in ctx.kustomizations if file.rel in ks.builds]
        if not builders or file.yaml is None:
            continue
        for doc in file.yaml.documents:
            if not is_kind(doc.data, "Secret"):
                continue
            target = builders[0].spec.get("targetNamespace")
            namespace = target if isinstance(target, str) and target else ctx.repo.namespace_of(file, doc)
            expected.append((namespace or "default", name_of(doc.data)))
    if not expected:
        report.checklist.append(Check("checklist.secret-exists", "unknown", "no Secret manifest among the built "
                                      "SOPS files"))
        return
    missing: list[str] = []
    try:
        for namespace, name in dict.fromkeys(expected):
            if not client.secret_exists(namespace, name):
                missing.append(f"{namespace}/{name}")
    except SopsError as exc:
        report.checklist.append(Check("checklist.secret-exists", "unknown", f"cannot ask the cluster: {exc.message}"))
        return
    if missing:
        report.checklist.append(Check("checklist.secret-exists", "fail", "missing in the cluster: "
                                      + ", ".join(missing[:10]), None,
                                      "fix the failing links above, then `flux reconcile kustomization NAME`"))
    else:
        report.checklist.append(Check("checklist.secret-exists", "ok", f"{len(expected)} Secret(s) exist"))


__all__ = ["add_checklist"]
