"""A Flux Kustomization's ``spec.targetNamespace`` overrides the namespace of every object it
applies, plain workloads included (Flux's generated kustomization sets ``namespace:``): a
Deployment written without a namespace runs in the target namespace, so a binding there to its
ServiceAccount is the workload's."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import SOPS_CONFIG, RepoFactory, flux_ks
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, cluster_binding

RBAC = "rbac-workload-reads-all-secrets"
_DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: exporter\nspec:\n  template:\n    spec:\n"
    "      serviceAccountName: exporter\n      containers: [{name: main, image: example.invalid/exporter:1}]\n"
)
_KUSTOMIZATION = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deploy.yaml\n  - rbac.yaml\n"
)


def _repo(make_repo: RepoFactory, target: str | None) -> Path:
    ks = flux_ks("exporter", "./apps/exporter")
    if target:
        ks += f"  targetNamespace: {target}\n"
    return make_repo({
        **SOPS_CONFIG, **FLUX_SOURCE,
        "clusters/home/exporter.yaml": ks,
        "apps/exporter/kustomization.yaml": _KUSTOMIZATION,
        "apps/exporter/deploy.yaml": _DEPLOYMENT,
        "apps/exporter/rbac.yaml": cluster_binding("exporter", "read-everything", "exporter", "monitoring"),
    })


def _found(root: Path) -> list[str]:
    return [v.path for v in check_policy(root, only=[RBAC]).violations]


def test_a_workload_in_the_target_namespace_is_the_bound_accounts(make_repo: RepoFactory) -> None:
    assert _found(_repo(make_repo, "monitoring")) == ["apps/exporter/rbac.yaml"]


def test_a_workload_in_another_target_namespace_is_not(make_repo: RepoFactory) -> None:
    assert _found(_repo(make_repo, "observability")) == []
