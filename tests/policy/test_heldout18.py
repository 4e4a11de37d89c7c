"""Made-up, minimised reproductions of the false findings and misses of the eighteenth held-out
round (docs/guardrails.md, "Held-out round 18"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import (
    FLUX_SOURCE,
    KEY,
    RBAC,
    SOPS_CONFIG,
    cluster_binding,
    found,
    helm_release,
    secrets_binding,
    workload,
)
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK, ks

PROVIDER = "flux-decryption-provider"
SECRET_REF = "flux-decryption-secretref"
DECRYPTS = "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
ENCRYPTED_SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
    f"  token: {ENC}\n" + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
)


class TestStaleCopiesOfTheRootKustomization:
    """The flux-instance chart's values (``instance.sync.path``) name the live root; copies of its
    ``cluster-apps`` (same namespace, name and path) in a backup tree apply nothing."""

    VALUES = ("instance:\n  sync:\n    kind: GitRepository\n    url: https://example.invalid/home.git\n"
              "    ref: refs/heads/main\n    path: k8s/flux/cluster\n")

    def repo(self, make_repo: RepoFactory, copy: str) -> Path:
        return make_repo({
            **FLUX_SOURCE,
            "k8s/apps/flux-system/instance/helm/values.yaml": self.VALUES,
            "k8s/flux/cluster/ks.yaml": ks("cluster-apps", "./k8s/apps", extra=DECRYPTS),
            "k8s.orig/flux/cluster/ks.yaml": copy,
            "k8s/apps/kustomization.yaml": "resources:\n  - ./web/ks.yaml\n  - ./secret.sops.yaml\n",
            "k8s/apps/secret.sops.yaml": ENCRYPTED_SECRET,
            "k8s/apps/web/ks.yaml": ks("web", "./k8s/apps/web/app"),
            "k8s/apps/web/app/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
            "k8s/apps/web/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        })

    def test_a_copy_is_not_checked(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, ks("cluster-apps", "./k8s/apps"))
        assert flux(root, PROVIDER) == [] and flux(root, SECRET_REF) == []

    def test_another_root_without_decryption_is(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, ks("staging-apps", "./k8s/apps"))
        assert flux(root, PROVIDER) == [("k8s.orig/flux/cluster/ks.yaml", 6)]


class TestAKustomizationThatListsOnlyADirectory:
    """kustomize builds what ``resources`` lists: beside a kustomization that lists only a
    subdirectory (here a missing one), the RBAC file is built by nothing."""

    BINDING = cluster_binding("runner", "cluster-admin", "runner", "ci", define_role=False)
    RUNNER = helm_release("    serviceAccount:\n      name: runner\n", namespace="ci", name="runner")

    def repo(self, make_repo: RepoFactory, listed: str) -> Path:
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "clusters/home/ci.yaml": ks("ci", "./apps/ci"),
                          "apps/ci/kustomization.yaml": f"resources:\n{listed}",
                          "apps/ci/rbac.yaml": self.BINDING, "apps/ci/helmrelease.yaml": self.RUNNER})

    def test_unlisted_neighbours_are_not_deployed(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "  - ./runners\n"), KEY, RBAC) == []

    def test_listed_neighbours_are(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  - ./rbac.yaml\n  - ./helmrelease.yaml\n")
        assert found(root, KEY, RBAC) == [(KEY, "apps/ci/rbac.yaml"), (RBAC, "apps/ci/rbac.yaml")]


class TestAnnotationMarkers:
    """``example.org/credentials: provisioned`` marks the object; the selection
    (``^(data|stringData)$``) rightly leaves metadata in plaintext."""

    @staticmethod
    def text(value: str) -> str:
        return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: oidc\n  annotations:\n"
                f"    example.org/credentials: {value}\nstringData:\n  client_secret: {ENC}\n"
                + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n")

    def test_a_status_word_is_no_credential(self, make_repo: RepoFactory) -> None:
        for marker in ("provisioned", "managed-by-operator"):
            assert policy(make_repo({"oidc.sops.yaml": self.text(marker)}), "sops-plaintext-value") == [], marker

    def test_a_token_there_is(self, make_repo: RepoFactory) -> None:
        root = make_repo({"oidc.sops.yaml": self.text("f3Kq9ZxV7mP2wL8rT5yN1cB4")})
        assert policy(root, "sops-plaintext-value") == [("oidc.sops.yaml", 6)]


class TestManifestsBesideAChartsTemplates:
    """A chart directory that a HelmRelease installs from this repository holds a plain copy of the
    manifests beside ``templates/``: Helm renders only ``templates/``, and no Flux build reads
    the copy."""

    def repo(self, make_repo: RepoFactory, flux_path: str) -> Path:
        binding = secrets_binding("ksm", "ksm", "ksm", "ksm")
        deployment = workload("Deployment", "ksm", "ksm", "ksm", "example.org/ksm:2")
        release = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ksm\n"
                   "  namespace: ksm\nspec:\n  interval: 1h\n  chart:\n    spec:\n      chart: ./charts/ksm\n"
                   "      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n")
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", flux_path),
            "flux/apps/kustomization.yaml": "resources:\n  - ./ksm.yaml\n",
            "flux/apps/ksm.yaml": release,
            "charts/ksm/Chart.yaml": "apiVersion: v2\nname: ksm\nversion: 1.0.0\n",
            "charts/ksm/kustomization.yaml": "resources:\n  - ./rbac.yaml\n  - ./deployment.yaml\n",
            "charts/ksm/rbac.yaml": binding,
            "charts/ksm/deployment.yaml": deployment,
            "charts/ksm/templates/manifests.yaml": binding + "---\n" + deployment,
        })

    def test_only_the_template_is_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "./flux/apps")
        assert found(root, RBAC) == [(RBAC, "charts/ksm/templates/manifests.yaml")]

    def test_a_chart_whose_template_renders_the_files_deploys_them(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "./flux/apps")
        wrapper = '{{- range $path, $_ := .Files.Glob "*.yaml" }}\n---\n{{ $.Files.Get $path }}\n{{- end }}\n'
        (root / "charts/ksm/templates/manifests.yaml").write_text(wrapper)
        assert found(root, RBAC) == [(RBAC, "charts/ksm/rbac.yaml")]

    def test_a_flux_build_of_the_copy_counts(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "./charts/ksm")
        assert (RBAC, "charts/ksm/rbac.yaml") in found(root, RBAC)


def test_an_archived_secret_with_placeholders_is_not_applied(make_repo: RepoFactory) -> None:
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: immich\nstringData:\n"
              "  DB_PASSWORD: PLACEHOLDER\n")
    files = {"kustomization.yaml": "resources:\n  - ./secret.yaml\n", "secret.yaml": secret}
    archived = make_repo({f".archive/immich/{path}": text for path, text in files.items()})
    assert policy(archived, "plaintext-secret") == []
    live = make_repo({f"apps/immich/{path}": text for path, text in files.items()})
    assert policy(live, "plaintext-secret") == [("apps/immich/secret.yaml", 5)]


class TestAnUpstreamSourceIsNotThisRepository:
    """A Kustomization of an operator's upstream GitRepository with no ``spec.path`` builds that
    project's root, not this one: it reads none of this repository's SOPS files."""

    UPSTREAM = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: crds\n"
        "  namespace: flux-system\nspec:\n  url: https://github.com/example/operator-crds\n  ref:\n    tag: v1.0.0\n"
        "---\n" + ks("crds", "", source="kind: GitRepository\n    name: crds").replace("  path: \n", "")
    )

    def repo(self, make_repo: RepoFactory, secret_at: str) -> Path:
        binding = cluster_binding("runner", "cluster-admin", "runner", "ci", define_role=False)
        listed = "  - ./secret.sops.yaml\n" if secret_at.startswith("apps/") else ""
        root = make_repo({
            ".sops.yaml": SOPS_CONFIG[".sops.yaml"],
            "clusters/home/flux-system/source.yaml": FLUX_SOURCE["clusters/home/flux-system/source.yaml"],
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources:\n  - ./crds.yaml\n  - ./rbac.yaml\n" + listed,
            "apps/crds.yaml": self.UPSTREAM,
            "apps/rbac.yaml": binding,
            secret_at: ENCRYPTED_SECRET,
        })
        # the clone's remote names this repository (``home``), as a clone of a real one does
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "https://example.invalid/home.git"],
                       check=True)
        return root

    def test_flux_decrypts_nothing_here(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "terraform/secrets.sops.yaml")
        report = check_policy(root, only=[KEY])
        assert report.violations == ()
        assert next(s for s in report.statuses if s.check_id == KEY).status == "not-applicable"

    def test_a_sops_file_flux_builds_keeps_the_check(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "apps/secret.sops.yaml")
        assert found(root, KEY) == [(KEY, "apps/rbac.yaml")]


class TestExternalSecretsStoreAccount:
    """An External Secrets store with the Kubernetes provider authenticates as
    ``auth.serviceAccount``: every ExternalSecret using it reads Secrets as that account."""

    @staticmethod
    def store(account: str) -> str:
        return ("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata:\n  name: pg\n  namespace: apps\n"
                "spec:\n  provider:\n    kubernetes:\n      remoteNamespace: apps\n      auth:\n"
                f"        serviceAccount:\n          name: {account}\n")

    def repo(self, make_repo: RepoFactory, account: str) -> Path:
        reader = secrets_binding("pg-reader", "pg-reader", "pg-reader", "apps")
        return make_repo({**FLUX_SOURCE, "apps/rbac.yaml": reader, "apps/store.yaml": self.store(account)})

    def test_the_store_uses_the_account(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "pg-reader"), RBAC) == [(RBAC, "apps/rbac.yaml")]

    def test_another_account_is_not_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "pg-other"), RBAC) == []
