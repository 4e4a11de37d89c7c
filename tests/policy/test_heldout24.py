"""Made-up, minimised reproductions of the false findings and misses of the twenty-fourth
held-out round (docs/guardrails.md, "Held-out round 24"). Each case comes with a near-identical
one whose verdict must not change."""

from __future__ import annotations

from pathlib import Path

from tests.policy.conftest import RepoFactory
from tests.policy.test_heldout10_rbac import (
    FLUX_SOURCE,
    RBAC,
    SOPS_CONFIG,
    cluster_binding,
    found,
    helm_release,
    workload,
)
from tests.policy.test_realworld_cases import ks

SECRET_READER = cluster_binding("reader", "reader", "reader", "tools").replace(
    "resources: ['*']\n    verbs: [get]", "resources: [secrets]\n    verbs: [get, list]").replace(
    "apiGroups: ['*']", "apiGroups: ['']")


def test_the_deprecated_service_account_field_names_the_pod_account(make_repo: RepoFactory) -> None:
    """A DaemonSet written with ``serviceAccount:`` (the deprecated alias the API server still
    honours) runs as that account, not ``default``."""
    legacy = workload("DaemonSet", "node", "tools", "reader", "x/node:1").replace(
        "serviceAccountName: reader", "serviceAccount: reader")
    files = {**SOPS_CONFIG, **FLUX_SOURCE, "apps/rbac.yaml": SECRET_READER}
    assert found(make_repo({**files, "apps/node.yaml": legacy}), RBAC) == [(RBAC, "apps/rbac.yaml")]
    nameless = legacy.replace("      serviceAccount: reader\n", "")
    assert found(make_repo({**files, "apps/node.yaml": nameless}), RBAC) == []


class TestPostRendererSetsTheAccount:
    """A HelmRelease whose ``postRenderers`` kustomize patch sets the Deployment's
    ``serviceAccountName``: the chart's pods run as that account. The release sits in a base
    without a namespace; the overlay that builds it sets ``namespace: tools``, which moves it
    (two overlays that disagree leave its namespace unknown)."""

    PATCH = ("  postRenderers:\n    - kustomize:\n        patches:\n          - target:\n"
             "              kind: Deployment\n            patch: |\n              apiVersion: apps/v1\n"
             "              kind: Deployment\n              metadata:\n                name: dash\n"
             "              spec:\n                template:\n                  spec:\n"
             "                    serviceAccountName: reader\n")

    @staticmethod
    def repo(make_repo: RepoFactory, extra_spec: str, account: str = "reader") -> Path:
        release = helm_release("    replicaCount: 1\n", namespace="", extra_spec=extra_spec, name="dash")
        return make_repo({
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps/production"),
            "apps/production/kustomization.yaml": "namespace: tools\nresources:\n  - ../base\n",
            "apps/base/kustomization.yaml": "resources:\n  - rbac.yaml\n  - release.yaml\n",
            "apps/base/rbac.yaml": SECRET_READER.replace(
                "name: reader\n    namespace", f"name: {account}\n    namespace"),
            "apps/base/release.yaml": release,
        })

    def test_the_patched_account_is_the_workload(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.PATCH), RBAC) == [(RBAC, "apps/base/rbac.yaml")]

    def test_without_the_patch_nothing_runs_as_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, ""), RBAC) == []

    def test_overlays_that_disagree_on_the_namespace_say_none(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.PATCH)
        staging = root / "apps/staging"
        staging.mkdir()
        (staging / "kustomization.yaml").write_text("namespace: lab\nresources:\n  - ../base\n")
        assert found(root, RBAC) == []


class TestChartRbacOfAReleaseNoBuildApplies:
    """A Headlamp HelmRelease (the chart binds its own account to ``cluster-admin``) in an app
    directory that no Flux Kustomization points at, beside apps that Flux deploys: only
    helm-controller acts on a HelmRelease, so nothing renders that binding."""

    @staticmethod
    def repo(make_repo: RepoFactory, apps: str) -> Path:
        release = helm_release("    replicaCount: 1\n", namespace="tools", name="headlamp").replace(
            "chart: status-page", "chart: headlamp")
        return make_repo({
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": "---\n".join(ks(app, f"./apps/{app}") for app in apps.split()),
            "apps/web/deploy.yaml": workload("Deployment", "web", "tools", "web", "x/web:1"),
            "apps/headlamp/release.yaml": release,
        })

    def test_an_unbuilt_release_renders_nothing(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "web"), RBAC) == []

    def test_a_built_one_does(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "web headlamp"), RBAC) == [(RBAC, "apps/headlamp/release.yaml")]
