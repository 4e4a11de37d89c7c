"""Which Flux Kustomization builds which file, from the repository and (optionally) the cluster.

The reachability rules are those of ``sopskit flux validate`` (:mod:`sopskit.policy.checks.flux`):
a directory with a kustomization file builds what it references, one without builds every file
below it. A Kustomization read from the cluster is matched to the repository by ``spec.path``
(the checked root is taken as the root of the Flux source) and brings its ``status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sopskit.policy.fluxgraph import Builds, flux_kustomizations, normal_dir, source_path
from sopskit.policy.repo import Repo

CONTROLLER_ACCOUNT = "system:serviceaccount:flux-system:kustomize-controller"
PUBLIC_KEY_RECORD = ".sops.pub.age"
_FLUX_GROUP = b"kustomize.toolkit.fluxcd.io"


@dataclass
class FluxKs:
    """One Flux Kustomization, wherever it was found. ``status`` is None when not from a cluster."""

    namespace: str
    name: str
    path: str
    spec: dict[str, Any]
    defined_in: str | None = None
    status: dict[str, Any] | None = None
    builds: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def decryption(self) -> dict[str, Any]:
        value = self.spec.get("decryption")
        return value if isinstance(value, dict) else {}

    @property
    def secret_name(self) -> str | None:
        ref = self.decryption.get("secretRef")
        name = ref.get("name") if isinstance(ref, dict) else None
        return name if isinstance(name, str) and name else None

    @property
    def post_build(self) -> dict[str, Any] | None:
        value = self.spec.get("postBuild")
        return value if isinstance(value, dict) else None

    @property
    def subject(self) -> str:
        """Who reads the decryption Secret: the impersonated ``serviceAccountName`` when set
        (multi-tenancy), else kustomize-controller's own service account."""
        account = self.spec.get("serviceAccountName")
        if isinstance(account, str) and account:
            return f"system:serviceaccount:{self.namespace}:{account}"
        return CONTROLLER_ACCOUNT

    def ready(self) -> dict[str, Any] | None:
        conditions = (self.status or {}).get("conditions") or []
        return next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), None)


def _normal(path: Any) -> str:
    return normal_dir(source_path(path))


def find_kustomizations(repo: Repo, cluster_objects: Iterable[Mapping[str, Any]] = ()) -> list[FluxKs]:
    """Repository Kustomizations, overlaid by the cluster's (same namespace/name: the cluster's
    spec and status win, since that is what runs)."""
    found: dict[tuple[str, str], FluxKs] = {}
    # parse only the YAML files that can hold a Flux Kustomization (parsing every file with line
    # numbers is what made a 1,000-file repository slow)
    candidates = Repo(
        root=repo.root,
        files=tuple(f for f in repo.files if f.is_yaml and _FLUX_GROUP in f.raw and b"Kustomization" in f.raw),
        committed=repo.committed,
        is_git=repo.is_git,
    )
    for repo_ks in flux_kustomizations(candidates):
        found[(repo_ks.namespace, repo_ks.name)] = FluxKs(
            repo_ks.namespace, repo_ks.name, repo_ks.path, repo_ks.spec, repo_ks.file.rel
        )
    for obj in cluster_objects:
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(metadata, dict) and isinstance(spec, dict)
        key = (str(metadata.get("namespace") or "flux-system"), str(metadata.get("name") or ""))
        previous = found.get(key)
        status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
        found[key] = FluxKs(
            key[0], key[1], _normal(spec.get("path")), spec, previous.defined_in if previous else None, status
        )
    builds = Builds(repo)
    for ks in found.values():
        if repo.exists(ks.path or "."):
            ks.builds = set(builds.inputs(ks.path))
    return sorted(found.values(), key=lambda k: (k.namespace, k.name))


def recorded_recipients(repo: Repo, ks: FluxKs) -> list[str] | None:
    """The cluster's public age keys committed next to the Kustomization (``.sops.pub.age``, as
    Flux's guide suggests), looked up from its definition's folder and its ``spec.path`` upwards."""
    starts = [ks.path]
    if ks.defined_in:
        starts.insert(0, str(PurePosixPath(ks.defined_in).parent))
    for start in starts:
        directory = "" if start in (".", "") else start
        while True:
            rel = f"{directory}/{PUBLIC_KEY_RECORD}" if directory else PUBLIC_KEY_RECORD
            file = repo.by_rel.get(rel)
            if file is not None and file.text is not None:
                keys = [line.strip() for line in file.text.splitlines() if line.strip().startswith("age1")]
                if keys:
                    return keys
            if not directory:
                break
            directory = "" if "/" not in directory else directory.rsplit("/", 1)[0]
    return None


__all__ = ["CONTROLLER_ACCOUNT", "PUBLIC_KEY_RECORD", "FluxKs", "find_kustomizations", "recorded_recipients"]
