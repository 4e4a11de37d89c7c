"""What to do, as data: runbook steps in the safe order, outside surfaces, follow-ups.

The order is the point. For a **key** leak: new key, new recipient added, every file
re-encrypted with a **new data key** (``sopskit rotate``; ``updatekeys`` and
``cluster init --force`` keep the data key, which the leaked key unwraps from any old version
in history), push, Flux reconciles, only then the old recipient removed and the old key
deleted; and every value those files held is rotated, because old ciphertexts stay readable
forever. For a **value** leak: the credential is rotated at its issuer first; then the
Secrets holding it are updated through the encrypted path, the workloads that read them
restarted where they read it from the environment.

History rewriting is listed last and as hygiene: it never makes a leaked secret safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TODO, DONE, NOT_APPLICABLE = "todo", "done", "n/a"

OUTSIDE_SURFACES = [
    ("forks", "Forks of the repository on the hosting service: they keep their own copies of every ref."),
    ("pull-refs", "Pull/merge-request refs (refs/pull/*, refs/merge-requests/*) and the hosting service's "
                  "cached views of commits and diffs: ask its support to purge them (see docs/leak.md)."),
    ("ci", "CI logs, job artefacts and caches that ran on the affected commits: delete or expire them."),
    ("gitops-caches", "GitOps caches: Flux source-controller artefacts, Argo CD repo-server caches, image "
                      "build caches."),
    ("chat", "Chat and tickets where the value or file was pasted."),
    ("screenshots", "Screenshots, screen recordings, pastebins, documents."),
    ("clones", "Local clones and mirrors: every person and machine with a clone runs `sopskit leak status` "
               "or `sopskit leak value --repo` there."),
]

FOLLOW_UPS = [
    ("audit-access", "Audit the issuer's access logs for use of the leaked credential since the first commit."),
    ("stale-credentials", "Remove stale credentials and keys found while responding."),
    ("detection-rule", "Add a detection rule: `sopskit scan --staged` as a pre-commit hook and in CI."),
    ("review", "Blameless review: how did the plaintext reach a commit, what would have stopped it."),
]


@dataclass
class Consumer:
    """A workload in the repository that reads a Secret."""

    kind: str
    namespace: str | None
    name: str
    secret: str
    path: str
    via: str  # env, envFrom, volume
    restart: bool

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "secret": self.secret,
                "path": self.path, "via": self.via, "restart": self.restart}


_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    if doc.get("kind") == "Pod":
        return spec
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    inner = template.get("spec") if isinstance(template, dict) else None
    return inner if isinstance(inner, dict) else None


def _secret_uses(pod: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(secret name, how) for every reference in a pod spec."""
    containers = [c for key in ("containers", "initContainers") for c in (pod.get(key) or [])
                  if isinstance(c, dict)]
    for c in containers:
        for env in c.get("env") or []:
            ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef") if isinstance(env, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                yield str(ref["name"]), "env"
        for src in c.get("envFrom") or []:
            ref = src.get("secretRef") if isinstance(src, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                yield str(ref["name"]), "envFrom"
    for vol in pod.get("volumes") or []:
        if not isinstance(vol, dict):
            continue
        sec = vol.get("secret")
        if isinstance(sec, dict) and sec.get("secretName"):
            yield str(sec["secretName"]), "volume"
        for proj in ((vol.get("projected") or {}).get("sources") or []):
            ref = proj.get("secret") if isinstance(proj, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                yield str(ref["name"]), "volume"


def consumers(repo: Path, secrets: Sequence[tuple[str | None, str]]) -> list[Consumer]:
    """Workloads in ``repo``'s work tree that read one of ``secrets`` ((namespace, name) pairs).

    A Secret read from the environment needs a restart (the process keeps the old value); a
    mounted one is updated in place by the kubelet, but the application must re-read it.
    """
    from sopskit.policy.repo import load_repo

    wanted = {name for _, name in secrets}
    found: list[Consumer] = []
    for file, doc in load_repo(repo).documents():
        data = doc.data
        if data.get("kind") not in _WORKLOADS:
            continue
        pod = _pod_spec(data)
        if pod is None:
            continue
        meta_raw = data.get("metadata")
        meta: dict[str, Any] = meta_raw if isinstance(meta_raw, dict) else {}
        ns = _namespace(meta)
        for secret, via in _secret_uses(pod):
            if secret not in wanted:
                continue
            if not any(n == secret and (sns is None or ns is None or sns == ns) for sns, n in secrets):
                continue
            c = Consumer(str(data["kind"]), ns, str(meta.get("name", "")), secret, file.rel, via, via != "volume")
            if c not in found:
                found.append(c)
    return found


def _namespace(meta: dict[str, Any]) -> str | None:
    ns = meta.get("namespace")
    return str(ns) if ns else None


def _step(step_id: str, text: str, command: str | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": step_id, "status": TODO, "step": text}
    if command:
        item["command"] = command
    item.update(extra)
    return item


def value_runbook(secrets: Sequence[dict[str, Any]], workloads: Sequence[Consumer],
                  sops_files: Sequence[str]) -> list[dict[str, Any]]:
    """The credential rotation for a leaked value, in order."""
    steps = [
        _step("rotate-credential", "Rotate the credential at its issuer and revoke the leaked one; "
              "nothing below makes the old value safe."),
        _step("update-secrets", "Put the new value in every Secret that held the old one, through the "
              "encrypted path only (never a plaintext commit).",
              "sopskit edit FILE   (or: sopskit set FILE '[\"stringData\"][\"KEY\"]' with the value on stdin)",
              secrets=list(secrets), files=sorted(set(sops_files))),
        _step("check-encrypted-path", "Confirm the new value moved only encrypted: no plaintext in the change.",
              "sopskit scan --staged && sopskit leak status RECORD"),
        _step("push", "Commit and push the encrypted change.", "git push"),
        _step("reconcile", "Let Flux apply it (or force it).", "flux reconcile kustomization NAME --with-source"),
        _step("restart-workloads", "Restart workloads that read the Secret from the environment "
              "(mounted Secrets update in place; the app must re-read them).",
              "kubectl -n NS rollout restart KIND/NAME",
              workloads=[w.to_dict() for w in workloads]),
        _step("verify-revoked", "Verify the old value is rejected by the issuer."),
        _step("history-hygiene", "Optional hygiene: rewrite history to drop the old value (prepared, not run; "
              "it does not make the value safe).", "sopskit leak scrub RECORD --repo DIR"),
    ]
    return steps


def key_runbook(recipients: Sequence[str], files: Sequence[str], secrets: Sequence[dict[str, Any]],
                *, context: str | None = None, workloads: Sequence[Consumer] = ()) -> list[dict[str, Any]]:
    """The key rotation in the safe order, then the rotation of every value the key exposed."""
    ctx = f" --context {context}" if context else ""
    old = ",".join(recipients) or "OLD"
    return [
        _step("new-key", "Create a new key; put it in the cluster next to the old one.",
              f"sopskit cluster init{ctx} --force   (or age-keygen for a person's key)"),
        _step("add-recipient", "Add the new recipient to .sops.yaml (the creation rules).",
              "edit .sops.yaml   (cluster init --force does this for the cluster rule)"),
        _step("reencrypt-new-data-keys", "Re-encrypt every file with a NEW data key for the new recipients "
              "only: updatekeys and cluster init --force keep the data key, which the leaked key unwraps "
              "from any old version.",
              f"sopskit rotate -i --add-age NEW --rm-age {old} FILE", files=sorted(set(files))),
        _step("push", "Commit and push.", "git push"),
        _step("reconcile", "Flux reconciles with the new key; check every Kustomization is Ready.",
              "flux reconcile kustomization NAME --with-source && sopskit cluster verify" + ctx),
        _step("remove-old-recipient", "Remove the old recipient from .sops.yaml, the cluster Secret, CI and "
              "every keys.txt.", f"sopskit cluster verify{ctx}", recipients=list(recipients)),
        _step("delete-old-key", "Delete the old private key everywhere it was stored."),
        _step("rotate-exposed-values", "Rotate every value the old key could read: old ciphertexts stay in "
              "history, clones and caches, so re-encryption alone does not protect them.",
              "sopskit leak value --record RECORD   (per value, after rotating it at its issuer)",
              secrets=list(secrets)),
        _step("restart-workloads", "Restart workloads that read a rotated Secret from the environment.",
              "kubectl -n NS rollout restart KIND/NAME", workloads=[w.to_dict() for w in workloads]),
        _step("history-hygiene", "Optional hygiene: rewrite history (prepared, not run; not a fix).",
              "sopskit leak scrub RECORD --repo DIR"),
    ]


def outside_checklist() -> list[dict[str, Any]]:
    return [{"id": i, "status": TODO, "surface": text} for i, text in OUTSIDE_SURFACES]


def follow_ups() -> list[dict[str, Any]]:
    return [{"id": i, "status": TODO, "task": text} for i, text in FOLLOW_UPS]


__all__ = ["DONE", "NOT_APPLICABLE", "TODO", "Consumer", "consumers", "follow_ups", "key_runbook",
           "outside_checklist", "value_runbook"]
