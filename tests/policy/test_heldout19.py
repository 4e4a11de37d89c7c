"""Made-up, minimised reproductions of the false findings and misses of the nineteenth held-out
round (docs/guardrails.md, "Held-out round 19"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import (
    FLUX_SOURCE,
    RBAC,
    found,
    helm_release,
    secrets_binding,
    workload,
)
from tests.policy.test_realworld_cases import ks


def test_a_kustomization_file_its_directory_does_not_list_is_not_deployed(make_repo: RepoFactory) -> None:
    """``flux-system/kustomization.yaml`` lists the gotk files and a namespace; a leftover
    ``cert-manager.yaml`` beside them, whose path no longer exists, is applied by nothing."""
    sync = ks("flux-system", "./clusters/home")
    listed = "resources:\n  - gotk-sync.yaml\n  - monitoring.yaml\n"
    files = {
        **FLUX_SOURCE,
        "clusters/home/flux-system/gotk-sync.yaml": sync,
        "clusters/home/flux-system/kustomization.yaml": listed,
        # no listed file is a Kustomization: no Kustomization builds another
        "clusters/home/flux-system/monitoring.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: m\n",
        "clusters/home/flux-system/cert-manager.yaml": ks("cert-manager", "./cert-manager"),
    }
    assert flux(make_repo(files), "flux-path-missing") == []
    files["clusters/home/flux-system/kustomization.yaml"] = listed + "  - cert-manager.yaml\n"
    assert flux(make_repo(files), "flux-path-missing") == [("clusters/home/flux-system/cert-manager.yaml", 8)]


class TestARenamedRepository:
    """The cluster's GitRepository still names the repository's old name (``home-ops``; it is now
    ``home-ops-old``, and GitHub redirects): the same owner, and every path it builds is here."""

    def repo(self, make_repo: RepoFactory, url: str) -> Path:
        source = FLUX_SOURCE["clusters/home/flux-system/source.yaml"].replace(
            "name: flux-system", "name: home-ops", 1).replace("https://example.invalid/home.git", url)
        apps = ks("status", "./apps/status", source="kind: GitRepository\n    name: home-ops",
                  extra="  targetNamespace: monitoring\n")
        release = helm_release("    serviceAccount:\n      name: status\n", namespace="")
        binding = secrets_binding("status", "status", "status", "monitoring")
        root = make_repo({"clusters/home/source.yaml": source, "clusters/home/status.yaml": apps,
                          "apps/status/helmrelease.yaml": release, "apps/status/rbac.yaml": binding})
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin",
                        "https://github.com/someone/home-ops-old.git"], check=True)
        return root

    def test_the_old_name_is_this_repository(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "https://github.com/someone/home-ops.git")
        assert found(root, RBAC) == [(RBAC, "apps/status/rbac.yaml")]

    def test_another_owners_repository_is_not(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "https://github.com/upstream/home-ops.git")
        assert found(root, RBAC) == []


def test_a_variable_name_in_a_sample_url_is_a_placeholder(make_repo: RepoFactory) -> None:
    """``secret.sample.yaml`` beside the encrypted Secret its kustomization lists: the URL's
    password is the variable's name; a real one in the same place is key material."""
    def sample(password: str) -> str:
        return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: vw\nstringData:\n"
                f"  DATABASE_URL: postgresql://vw:{password}@db:5432/vw\n")
    listed = {"apps/vw/kustomization.yaml": "resources:\n  - cm.yaml\n",
              "apps/vw/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vw\n"}
    root = make_repo({**listed, "apps/vw/secret.sample.yaml": sample("POSTGRES_PASSWORD")})
    assert policy(root, "plaintext-secret") == []
    root = make_repo({**listed, "apps/vw/secret.sample.yaml": sample("Vq7rT2mX9kLp")})
    assert policy(root, "plaintext-secret") == [("apps/vw/secret.sample.yaml", 5)]


def test_an_ancestors_namespace_moves_only_what_its_build_includes(make_repo: RepoFactory) -> None:
    """``virt/kustomization.yaml`` (``namespace: virt``) lists ``./cdi/ks.yaml``; the operator's
    manifests in ``cdi/app`` are built by that Flux Kustomization, not by ``virt``: they keep
    their own namespace ``cdi``, where the Deployment runs as the bound account."""
    reader = secrets_binding("cdi-op", "cdi-op", "cdi-op", "cdi")
    operator = workload("Deployment", "cdi-op", "cdi", "cdi-op", "example.org/cdi-operator:1")
    files = {
        **FLUX_SOURCE,
        "virt/kustomization.yaml": "namespace: virt\nresources:\n  - ./cdi/ks.yaml\n",
        "virt/cdi/ks.yaml": ks("cdi", "./virt/cdi/app"),
        "virt/cdi/app/kustomization.yaml": "resources:\n  - ./operator.yaml\n  - ./rbac.yaml\n",
        "virt/cdi/app/operator.yaml": operator,
        "virt/cdi/app/rbac.yaml": reader,
    }
    assert found(make_repo(files), RBAC) == [(RBAC, "virt/cdi/app/rbac.yaml")]
    # listed by the namespaced kustomization itself, the Deployment moves to ``virt``: the
    # subject ``cdi/cdi-op`` then names an account nothing runs as
    files["virt/kustomization.yaml"] = "namespace: virt\nresources:\n  - ./cdi/app/operator.yaml\n"
    assert found(make_repo(files), RBAC) == []


class TestOpenTelemetryDefaultAccounts:
    """The OpenTelemetry operator runs a collector's target allocator as ``<name>-targetallocator``
    when the spec names no account."""

    @staticmethod
    def collector(allocator: str) -> str:
        return ("apiVersion: opentelemetry.io/v1beta1\nkind: OpenTelemetryCollector\nmetadata:\n  name: otel\n"
                f"  namespace: monitoring\nspec:\n  mode: statefulset\n  targetAllocator:\n{allocator}")

    def repo(self, make_repo: RepoFactory, allocator: str) -> Path:
        reader = secrets_binding("otel-ta", "otel-ta", "otel-targetallocator", "monitoring")
        return make_repo({**FLUX_SOURCE, "otel/rbac.yaml": reader, "otel/collector.yaml": self.collector(allocator)})

    def test_an_enabled_allocator_runs_as_its_default_account(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "    enabled: true\n"), RBAC) == [(RBAC, "otel/rbac.yaml")]

    def test_a_disabled_or_renamed_allocator_does_not(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "    enabled: false\n"), RBAC) == []
        assert found(self.repo(make_repo, "    enabled: true\n    serviceAccount: ta\n"), RBAC) == []
