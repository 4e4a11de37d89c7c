"""The workloads of a repository that read a Secret, and how (environment, volume, other).

Why it matters for a review: a Secret read through ``env``/``envFrom`` is copied into the
process environment at start, so a change reaches the workload only after a restart; a mounted
Secret is updated in place by the kubelet (unless mounted with ``subPath``). So env consumers get
a ``kubectl rollout restart`` hint.

Matched references: containers' ``env[].valueFrom.secretKeyRef`` and ``envFrom[].secretRef``
(env); pod ``volumes[].secret`` and projected ``secret`` sources (volume); ``imagePullSecrets``,
Ingress ``tls[].secretName``, Flux HelmRelease ``valuesFrom`` and any string in its ``values``
equal to the name (Helm charts take ``existingSecret: NAME``), the same in Helm values files
(``values*.yaml``, reported as kind ``HelmValues`` named by their path), Flux Kustomization
``postBuild.substituteFrom`` and ``decryption.secretRef`` (other). A reference whose namespace is
unknown (no ``metadata.namespace``, no kustomization ``namespace:``) matches any namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopskit.policy.repo import Repo, RepoFile
from sopskit.policy.yamldocs import YamlDocument

#: kind -> path from the manifest to its pod spec
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "Rollout": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
#: kinds ``kubectl rollout restart`` accepts
RESTARTABLE = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_VIA_ORDER = {"env": 0, "volume": 1, "other": 2}


@dataclass(frozen=True, order=True)
class Consumer:
    kind: str
    namespace: str | None
    name: str
    via: str  # "env" | "volume" | "other"
    path: str  # repository file holding the workload

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "via": self.via}


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _pod_refs(pod: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(secret name, via) for every reference in a pod spec."""
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in _list(pod.get(group)):
            for env in _list(_dig(container, ("env",))):
                ref = _dig(env, ("valueFrom", "secretKeyRef", "name"))
                if isinstance(ref, str):
                    yield ref, "env"
            for source in _list(_dig(container, ("envFrom",))):
                ref = _dig(source, ("secretRef", "name"))
                if isinstance(ref, str):
                    yield ref, "env"
    for volume in _list(pod.get("volumes")):
        ref = _dig(volume, ("secret", "secretName"))
        if isinstance(ref, str):
            yield ref, "volume"
        for source in _list(_dig(volume, ("projected", "sources"))):
            ref = _dig(source, ("secret", "name"))
            if isinstance(ref, str):
                yield ref, "volume"
    for pull in _list(pod.get("imagePullSecrets")):
        ref = _dig(pull, ("name",))
        if isinstance(ref, str):
            yield ref, "other"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from _strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child)


def _other_refs(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    kind = data.get("kind")
    raw_spec = data.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    if kind == "HelmRelease":
        for item in _list(spec.get("valuesFrom")):
            if isinstance(item, dict) and item.get("kind") == "Secret" and isinstance(item.get("name"), str):
                yield item["name"], "other"
        for text in _strings(spec.get("values")):
            yield text, "other"
    elif kind == "Kustomization" and "sourceRef" in spec:  # Flux's, not kustomize's
        for item in _list(_dig(spec, ("postBuild", "substituteFrom"))):
            if isinstance(item, dict) and item.get("kind") == "Secret" and isinstance(item.get("name"), str):
                yield item["name"], "other"
        ref = _dig(spec, ("decryption", "secretRef", "name"))
        if isinstance(ref, str):
            yield ref, "other"
    elif kind == "Ingress":
        for tls in _list(spec.get("tls")):
            ref = _dig(tls, ("secretName",))
            if isinstance(ref, str):
                yield ref, "other"
    elif kind == "ServiceAccount":
        for group in ("secrets", "imagePullSecrets"):
            for item in _list(data.get(group)):
                ref = _dig(item, ("name",))
                if isinstance(ref, str):
                    yield ref, "other"


def _is_helm_values(filename: str) -> bool:
    """``values.yaml``, ``values-prod.yaml``, ``prod.values.yaml``: a chart's values file."""
    stem = filename.rsplit(".", 1)[0]
    return filename.endswith((".yaml", ".yml")) and (stem.startswith("values") or stem.endswith("values"))


def _workload_documents(repo: Repo) -> Iterator[tuple[RepoFile, YamlDocument]]:
    """Mapping documents of the repository's plaintext YAML files: an encrypted file holds
    secrets, not workloads, and skipping it saves parsing the bulky sops blocks."""
    for file in repo.files:
        if not file.is_yaml or file.is_encrypted:
            continue
        parsed = file.yaml
        for doc in parsed.documents if parsed is not None else ():
            if isinstance(doc.data, dict):
                yield file, doc


class ConsumerIndex:
    """Every Secret reference of a repository, indexed by Secret name (one pass over the
    manifests, then a dictionary look-up per Secret)."""

    def __init__(self, repo: Repo) -> None:
        self._by_name: dict[str, set[Consumer]] = {}
        for file, doc in _workload_documents(repo):
            data = doc.data
            kind = data.get("kind")
            if not isinstance(kind, str):
                if _is_helm_values(file.name):
                    for text in set(_strings(data)):
                        self._add(text, Consumer("HelmValues", None, file.rel, "other", file.rel))
                continue
            refs: Iterator[tuple[str, str]]
            if kind in _POD_SPEC_PATHS:
                pod = _dig(data, _POD_SPEC_PATHS[kind])
                refs = _pod_refs(pod) if isinstance(pod, dict) else iter(())
            else:
                refs = _other_refs(data)
            pairs = set(refs)
            if not pairs:
                continue
            workload_ns = repo.namespace_of(file, doc)
            meta = data.get("metadata")
            workload = meta.get("name") if isinstance(meta, dict) else None
            label = workload if isinstance(workload, str) else "<unnamed>"
            for ref, via in pairs:
                self._add(ref, Consumer(kind, workload_ns, label, via, file.rel))

    def _add(self, name: str, consumer: Consumer) -> None:
        self._by_name.setdefault(name, set()).add(consumer)

    def find(self, namespace: str | None, name: str) -> list[Consumer]:
        """Consumers of ``namespace/name``, env first; an unknown namespace matches any."""
        found = [c for c in self._by_name.get(name, ())
                 if namespace is None or c.namespace is None or c.namespace == namespace]
        return sorted(found, key=lambda c: (_VIA_ORDER[c.via], c.kind, c.namespace or "", c.name))


def find_consumers(repo: Repo, namespace: str | None, name: str) -> list[Consumer]:
    """Workloads in ``repo`` that reference the Secret ``namespace/name``, one entry per
    (workload, via), env first."""
    return ConsumerIndex(repo).find(namespace, name)


def restart_hints(consumers: list[Consumer]) -> list[str]:
    """``kubectl rollout restart`` for each env consumer that supports it; a note otherwise."""
    hints: list[str] = []
    for consumer in consumers:
        if consumer.via != "env":
            continue
        ns = f" -n {consumer.namespace}" if consumer.namespace else ""
        if consumer.kind in RESTARTABLE:
            hint = f"kubectl rollout restart {consumer.kind.lower()}/{consumer.name}{ns}"
        else:
            hint = (f"{consumer.kind} {consumer.name}{ns} reads it from the environment: "
                    "recreate it to pick up the change")
        if hint not in hints:
            hints.append(hint)
    return hints


def hints_after_change(path: Path, root: Path) -> tuple[str, list[str]] | None:
    """After ``edit``/``set`` of ``path``: ("Secret ns/name", restart commands) when the file
    defines a Secret that workloads of the repository under ``root`` read from the environment.

    Best effort by design: it runs after the file was written, so any problem means "no hint",
    never a failed command."""
    from sopskit.errors import SopsError
    from sopskit.policy.repo import load_repo
    from sopskit.review.fileview import view_file
    from sopskit.review.fingerprint import Fingerprinter

    try:
        view = view_file(path.name, path.read_bytes(), Fingerprinter())
        if view.kind != "Secret" or not view.name:
            return None
        repo = load_repo(root)
        rel = path.resolve().relative_to(repo.root).as_posix()
        namespace = view.namespace
        file = repo.by_rel.get(rel)
        if file is not None and file.yaml is not None:
            for doc in file.yaml.documents:
                if isinstance(doc.data, dict) and doc.data.get("kind") == "Secret":
                    namespace = repo.namespace_of(file, doc) or namespace
                    break
        hints = restart_hints(find_consumers(repo, namespace, view.name))
    except (SopsError, OSError, ValueError):
        return None
    if not hints:
        return None
    return f"Secret {namespace + '/' if namespace else ''}{view.name}", hints
