"""The Argo CD Config Management Plugin (sidecar, v2): ``discover`` and ``generate``.

``generate`` runs in the Application's source directory inside the repo-server's plugin sidecar
and builds it as ``sopskit build`` does (kustomize-controller's algorithm, MAC verified), but
prints the decrypted manifests, since Argo CD must apply real values. Because its stdout goes
into Argo CD's manifest cache and its stderr into the UI, it is strict:

* **Scope**: every object must land in the Application's destination namespace
  (``ARGOCD_APP_NAMESPACE``): an object naming another namespace, or a known cluster-scoped kind,
  is refused, unless the operator allows it for the Application's project
  (``ARGOCD_APP_PROJECT_NAME``) in ``SOPSKIT_ARGOCD_ALLOWED_NAMESPACES`` on the sidecar, e.g.
  ``platform=*;team-a=team-a-jobs,<cluster>``. The setting is read from the sidecar's own
  environment; Application authors can only set ``ARGOCD_ENV_*`` variables, so they cannot widen
  their own scope.
* **Fail closed**: the whole output is built in memory and written only when every object
  passed; on any error nothing is written to stdout (a partial output would make Argo CD prune
  what is missing) and the exit status is non-zero.
* **Quiet**: stderr gets one line naming the failure (error messages never hold values, and
  kustomize's text is scrubbed of every decrypted value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sopskit.format.recognize import has_sops_metadata
from sopskit.keys.base import KeyContext
from sopskit.review.build import BuildSpec, build, to_yaml
from sopskit.review.errors import ScopeError
from sopskit.review.sources import KUSTOMIZATION_FILES
from sopskit.walk import walk_tree

ALLOW_SETTING = "SOPSKIT_ARGOCD_ALLOWED_NAMESPACES"
CLUSTER_TOKEN = "<cluster>"
#: kinds the API serves without a namespace (the built-in ones and the usual add-ons)
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "StorageClass", "PriorityClass", "RuntimeClass", "IngressClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "APIService", "CSIDriver", "CSINode", "VolumeAttachment",
    "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration", "ClusterIssuer",
    "ClusterSecretStore", "ClusterPolicy",
})
MAX_DISCOVER_FILES = 2000


@dataclass(frozen=True)
class AppContext:
    """What Argo CD tells the plugin about the Application (its build environment)."""

    name: str
    namespace: str
    project: str
    source_path: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppContext:
        namespace = env.get("ARGOCD_APP_NAMESPACE", "")
        if not namespace:
            raise ScopeError("ARGOCD_APP_NAMESPACE is not set: run as an Argo CD plugin, or set it")
        return cls(env.get("ARGOCD_APP_NAME", ""), namespace, env.get("ARGOCD_APP_PROJECT_NAME", ""),
                   env.get("ARGOCD_APP_SOURCE_PATH", ""))


def parse_allowed(text: str) -> dict[str, frozenset[str]]:
    """``project=ns1,ns2;other=*`` -> {project: {ns1, ns2}}; ``*`` allows every namespace and
    cluster-scoped objects, ``<cluster>`` cluster-scoped objects only."""
    allowed: dict[str, frozenset[str]] = {}
    for part in text.replace("\n", ";").split(";"):
        project, sep, names = part.partition("=")
        if not sep or not project.strip():
            continue
        allowed[project.strip()] = frozenset(n.strip() for n in names.split(",") if n.strip())
    return allowed


def check_scope(resources: list[dict[str, Any]], app: AppContext, allowed: Mapping[str, frozenset[str]]) -> None:
    extra = allowed.get(app.project, frozenset())
    for resource in resources:
        kind = str(resource.get("kind", ""))
        raw = resource.get("metadata")
        meta: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        name = meta.get("name", "<unnamed>")
        if "*" in extra:
            continue
        if kind in CLUSTER_SCOPED_KINDS:
            if CLUSTER_TOKEN not in extra:
                raise ScopeError(f"{kind} {name} is cluster-scoped; Application {app.name!r} (project "
                                 f"{app.project!r}) may only deploy into namespace {app.namespace!r}",
                                 hint=f"allow it for the project in {ALLOW_SETTING} on the plugin sidecar")
            continue
        namespace = meta.get("namespace")
        if namespace and namespace != app.namespace and namespace not in extra:
            raise ScopeError(f"{kind} {namespace}/{name} is outside namespace {app.namespace!r} of "
                             f"Application {app.name!r} (project {app.project!r})",
                             hint=f"allow it for the project in {ALLOW_SETTING} on the plugin sidecar")


def repository_root(cwd: Path, source_path: str) -> Path:
    """The checked-out repository: ``cwd`` minus ``ARGOCD_APP_SOURCE_PATH``."""
    parts = [p for p in PurePosixPath(source_path).parts if p not in (".", "/")]
    root = cwd
    for part in reversed(parts):
        if root.name != part:
            return cwd
        root = root.parent
    return root


def generate(cwd: Path, env: Mapping[str, str], *, context: KeyContext | None = None) -> str:
    """The decrypted manifests of the Application in ``cwd``, or an exception (never partial)."""
    app = AppContext.from_env(env)
    root = repository_root(cwd.resolve(), app.source_path).resolve()
    rel = cwd.resolve().relative_to(root).as_posix()
    spec = BuildSpec(root=root, path="" if rel == "." else rel)
    result = build(spec, context=context or KeyContext(env=dict(env)), env=env)
    check_scope(result.resources, app, parse_allowed(env.get(ALLOW_SETTING, "")))
    return to_yaml(result.resources)


def discover(directory: Path) -> bool:
    """True when ``directory`` is a kustomization that holds (or reaches) a SOPS file: only then
    should this plugin take the Application over from Argo CD's own kustomize."""
    if not any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return False
    # the plain walk of the one walker, lazily: Argo CD's checkout is a clean clone, and the
    # budget below must bound the walk itself, not only what is read
    for seen, path in enumerate(walk_tree(directory), start=1):
        if seen > MAX_DISCOVER_FILES:
            return False
        try:
            if path.stat().st_size > 5 << 20:
                continue
            with path.open("rb") as handle:
                if has_sops_metadata(handle.read()):
                    return True
        except OSError:
            continue
    return False
