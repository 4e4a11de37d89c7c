"""Made-up, minimised reproductions of the RBAC audit's false findings and misses of the tenth
held-out round (docs/guardrails.md, RBAC checks): Argo CD's own components (false findings), a
workload deployed by a Flux HelmRelease and bindings to Kubernetes's built-in ``admin``/``edit``
ClusterRoles (misses). Each case comes with a near-identical one whose verdict must not change."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import AGE_VECTOR_RECIPIENT, RepoFactory

RBAC = "rbac-workload-reads-all-secrets"
KEY = "decryption-key-readable"
SOPS_CONFIG = {".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n"}
FLUX_SOURCE = {
    "clusters/home/flux-system/source.yaml": (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata:\n  name: flux-system\n  namespace: flux-system\n"
        "spec:\n  interval: 1m\n  url: https://example.invalid/home.git\n"
    ),
}


def found(root: Path, *checks: str) -> list[tuple[str, str]]:
    return sorted((v.check_id, v.path) for v in check_policy(root, only=list(checks or [RBAC])).violations)


def workload(kind: str, name: str, namespace: str, account: str, image: str, init_image: str = "") -> str:
    init = f"      initContainers: [{{name: init, image: {init_image}}}]\n" if init_image else ""
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n"
        f"  template:\n    spec:\n      serviceAccountName: {account}\n{init}"
        f"      containers: [{{name: main, image: {image}}}]\n"
    )


def cluster_binding(name: str, role: str, account: str, namespace: str, *, define_role: bool = True) -> str:
    text = ""
    if define_role:
        text += (
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {role}\n"
            "rules:\n  - apiGroups: ['*']\n    resources: ['*']\n    verbs: [get]\n---\n"
        )
    return text + (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}\n"
        f"roleRef:\n  kind: ClusterRole\n  name: {role}\n  apiGroup: rbac.authorization.k8s.io\n"
        f"subjects:\n  - kind: ServiceAccount\n    name: {account}\n    namespace: {namespace}\n"
    )


def secrets_binding(name: str, role: str, account: str, namespace: str) -> str:
    """:func:`cluster_binding` whose ClusterRole reads exactly Secrets (every verb of the rule)."""
    return cluster_binding(name, role, account, namespace).replace("resources: ['*']", "resources: [secrets]")


class TestArgoCdComponents:
    """16 of round 10's false findings: the stock Argo CD ``install.yaml`` binds its server,
    application controller, applicationset controller, dex and notifications controller to roles
    that read Secrets, as Flux's ``gotk-components.yaml`` does; Flux's controllers were exempt,
    Argo CD's were not."""

    def repo(self, make_repo: RepoFactory, image: str, init_image: str = "") -> Path:
        return make_repo({
            "argocd/rbac.yaml": cluster_binding("argocd-server", "argocd-server", "argocd-server", "argocd"),
            "argocd/server.yaml": workload("Deployment", "argocd-server", "argocd", "argocd-server", image,
                                           init_image),
        })

    def test_argo_cds_own_server_is_not_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "quay.io/argoproj/argocd:v2.13.1")) == []

    def test_the_ghcr_image_and_a_digest_are_argo_cd_too(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "ghcr.io/argoproj/argocd@sha256:" + "ab" * 32)) == []

    def test_dex_with_argo_cds_init_container_is_argo_cd(self, make_repo: RepoFactory) -> None:
        """install.yaml's dex runs ``ghcr.io/dexidp/dex`` with Argo CD's ``copyutil`` init container."""
        assert found(self.repo(make_repo, "ghcr.io/dexidp/dex:v2.41.1", "quay.io/argoproj/argocd:v2.13.1")) == []

    def test_a_look_alike_workload_with_another_image_is_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "example.invalid/argocd:v2.13.1")) == [(RBAC, "argocd/rbac.yaml")]
        assert found(self.repo(make_repo, "quay.io/argoproj-labs/argocd-image-updater:v0.15")) == [
            (RBAC, "argocd/rbac.yaml")]

    def test_a_stand_alone_dex_is_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "ghcr.io/dexidp/dex:v2.41.1")) == [(RBAC, "argocd/rbac.yaml")]

    def test_an_account_that_another_workload_shares_is_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "quay.io/argoproj/argocd:v2.13.1")
        (root / "argocd/tool.yaml").write_text(
            workload("Deployment", "tool", "argocd", "argocd-server", "example.invalid/tool:1"), encoding="utf-8")
        assert found(root) == [(RBAC, "argocd/rbac.yaml")]

    def test_argo_cd_reading_flux_systems_key_is_still_reported(self, make_repo: RepoFactory) -> None:
        """Where Flux decrypts with a key in flux-system, that key is Flux's: Argo CD reading it
        is no part of Argo CD's job, so ``decryption-key-readable`` keeps the binding."""
        root = self.repo(make_repo, "quay.io/argoproj/argocd:v2.13.1")
        for rel, text in {**SOPS_CONFIG, **FLUX_SOURCE}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        assert found(root, RBAC, KEY) == [(KEY, "argocd/rbac.yaml")]


class TestBuiltInAdminAndEdit:
    """2 of round 10's misses: a binding to Kubernetes's built-in ``admin`` (or ``edit``)
    ClusterRole, which the repository does not define: ``edit`` aggregates
    ``system:aggregate-to-edit`` (get/list/watch on secrets), ``admin`` aggregates ``edit``
    (bootstrappolicy/policy.go)."""

    def repo(self, make_repo: RepoFactory, role: str, *, kind: str = "ServiceAccount", define: str = "") -> Path:
        binding = cluster_binding("engine", role, "engine", "security", define_role=False)
        if kind != "ServiceAccount":
            binding = binding.replace("kind: ServiceAccount\n    name: engine\n    namespace: security",
                                      f"kind: {kind}\n    name: engineers\n    apiGroup: rbac.authorization.k8s.io")
        files = {
            **SOPS_CONFIG, **FLUX_SOURCE,
            "security/rbac.yaml": binding,
            "security/engine.yaml": workload("Deployment", "engine", "security", "engine", "example.invalid/e:1"),
        }
        if define:
            files["security/role.yaml"] = define
        return make_repo(files)

    def test_a_binding_to_built_in_admin_is_reported_by_both_checks(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "admin"), RBAC, KEY) == [(KEY, "security/rbac.yaml"),
                                                                   (RBAC, "security/rbac.yaml")]

    def test_a_binding_to_built_in_edit_is_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "edit"), RBAC, KEY) == [(KEY, "security/rbac.yaml"),
                                                                  (RBAC, "security/rbac.yaml")]

    def test_a_rolebinding_to_admin_in_an_app_namespace_reads_that_namespace(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "admin")
        text = (root / "security/rbac.yaml").read_text(encoding="utf-8")
        (root / "security/rbac.yaml").write_text(
            text.replace("kind: ClusterRoleBinding\nmetadata:\n  name: engine\n",
                         "kind: RoleBinding\nmetadata:\n  name: engine\n  namespace: security\n"), encoding="utf-8")
        assert found(root, RBAC, KEY) == [(RBAC, "security/rbac.yaml")]

    def test_view_stays_silent(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "view"), RBAC, KEY) == []

    def test_a_service_account_bound_to_cluster_admin_is_reported(self, make_repo: RepoFactory) -> None:
        """Round 11 (9 misses): a CI runner's or a dashboard's ServiceAccount bound to
        ``cluster-admin`` reads the decryption key; the exception for it is gone."""
        assert found(self.repo(make_repo, "cluster-admin"), RBAC, KEY) == [(KEY, "security/rbac.yaml"),
                                                                           (RBAC, "security/rbac.yaml")]

    def test_a_group_bound_to_cluster_admin_is_deliberate_human_trust(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "cluster-admin", kind="Group"), RBAC, KEY) == []

    def test_a_group_bound_to_admin_is_deliberate_human_trust(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "admin", kind="Group"), RBAC, KEY) == []

    def test_a_repository_defined_admin_role_is_judged_by_its_rules(self, make_repo: RepoFactory) -> None:
        own = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: admin\n"
               "rules:\n  - apiGroups: ['']\n    resources: [configmaps]\n    verbs: [get]\n")
        assert found(self.repo(make_repo, "admin", define=own), RBAC, KEY) == []


_STATUS_READER = cluster_binding("status", "status", "status", "monitoring").replace(
    "resources: ['*']\n    verbs: [get]", "resources: [secrets]\n    verbs: [get, list, watch]").replace(
    "apiGroups: ['*']", "apiGroups: ['']")


def helm_release(values: str, *, namespace: str = "monitoring", extra_spec: str = "", name: str = "status") -> str:
    meta = f"  namespace: {namespace}\n" if namespace else ""
    return (
        f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n{meta}"
        f"spec:\n  interval: 30m\n{extra_spec}  chart:\n    spec:\n      chart: status-page\n"
        "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n"
        f"  values:\n{values}"
    )


class TestHelmReleaseWorkloads:
    """5 of round 10's misses: the workload running as the bound ServiceAccount is a chart that a
    Flux HelmRelease deploys, its account named in the release's values."""

    def repo(self, make_repo: RepoFactory, release: str, extra: dict[str, str] | None = None) -> Path:
        return make_repo({
            "apps/status/rbac.yaml": _STATUS_READER,
            "apps/status/helmrelease.yaml": release,
            **(extra or {}),
        })

    def test_service_account_name_in_values_is_the_workload(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      create: true\n      name: status\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]

    def test_another_account_name_is_not_the_workload(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      create: true\n      name: status-web\n")
        assert found(self.repo(make_repo, release)) == []

    def test_a_release_in_another_namespace_is_not_the_workload(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      name: status\n", namespace="web")
        assert found(self.repo(make_repo, release)) == []

    def test_a_chart_default_is_not_guessed(self, make_repo: RepoFactory) -> None:
        """The chart probably names its account ``status`` too, but nothing in the repository says so."""
        release = helm_release("    serviceAccount:\n      create: true\n")
        assert found(self.repo(make_repo, release)) == []

    def test_a_templated_name_is_not_followed(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      name: ${APP}\n")
        assert found(self.repo(make_repo, release)) == []

    def test_service_account_name_key(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccountName: status\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]

    def test_a_component_account(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      server:\n        create: true\n        name: status\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]

    def test_app_template_controller_account(self, make_repo: RepoFactory) -> None:
        release = helm_release("    controllers:\n      main:\n        serviceAccount:\n          name: status\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]

    def test_app_template_identifier_named_after_the_release(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      status: {}\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]
        other = helm_release("    serviceAccount:\n      status: {}\n", name="uptime")
        assert found(self.repo(make_repo, other)) == []  # named after release uptime: not guessed

    def test_the_releases_target_namespace(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      name: status\n", namespace="flux-system",
                               extra_spec="  targetNamespace: monitoring\n")
        assert found(self.repo(make_repo, release)) == [(RBAC, "apps/status/rbac.yaml")]
        elsewhere = helm_release("    serviceAccount:\n      name: status\n", namespace="monitoring",
                                 extra_spec="  targetNamespace: web\n")
        assert found(self.repo(make_repo, elsewhere)) == []

    def test_the_target_namespace_of_the_flux_kustomization_that_builds_it(self, make_repo: RepoFactory) -> None:
        """No namespace in the files: the Flux Kustomization's ``spec.targetNamespace`` sets it
        (and overrides a kustomization's ``namespace: default``)."""
        def ks(target: str) -> str:
            return (
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
                "metadata:\n  name: status\n  namespace: flux-system\n"
                f"spec:\n  interval: 10m\n  targetNamespace: {target}\n  path: ./apps/status\n"
                "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
            )
        files = {
            **FLUX_SOURCE,
            "apps/status/kustomization.yaml": "namespace: default\nresources:\n  - rbac.yaml\n  - helmrelease.yaml\n",
        }
        release = helm_release("    serviceAccount:\n      name: status\n", namespace="")
        built = {**files, "clusters/home/status.yaml": ks("monitoring")}
        assert found(self.repo(make_repo, release, built)) == [(RBAC, "apps/status/rbac.yaml")]
        assert found(self.repo(make_repo, release, {**files, "clusters/home/status.yaml": ks("web")})) == []

    def test_a_release_left_out_of_its_kustomization_runs_nowhere(self, make_repo: RepoFactory) -> None:
        release = helm_release("    serviceAccount:\n      name: status\n")
        listed = {"apps/status/kustomization.yaml": "resources:\n  - rbac.yaml\n  # - helmrelease.yaml\n  - ns.yaml\n",
                  "apps/status/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n"}
        assert found(self.repo(make_repo, release, listed)) == []
