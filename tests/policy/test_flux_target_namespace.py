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


_SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: exporter\n  namespace: monitoring\n"


def test_an_account_moved_by_the_target_namespace_takes_its_subjects_along(make_repo: RepoFactory) -> None:
    """The binding names the account's namespace as written (``monitoring``); Flux's
    targetNamespace moves the account, the workload and, by name reference, the subject."""
    root = _repo(make_repo, "observability")
    (root / "apps/exporter/sa.yaml").write_text(_SERVICE_ACCOUNT)
    (root / "apps/exporter/kustomization.yaml").write_text(_KUSTOMIZATION + "  - sa.yaml\n")
    assert _found(root) == ["apps/exporter/rbac.yaml"]


def test_an_account_the_flux_build_does_not_apply_keeps_the_written_namespace(make_repo: RepoFactory) -> None:
    root = _repo(make_repo, "observability")
    (root / "elsewhere").mkdir()
    (root / "elsewhere/sa.yaml").write_text(_SERVICE_ACCOUNT)
    assert _found(root) == []
