"""Made-up, minimised reproductions of the RBAC audit's misses and false findings of the ninth
held-out round (docs/guardrails.md, "Held-out round 9"): an aggregated ClusterRole whose
``aggregationRule`` was not resolved (a miss), a binding subject whose namespace kustomize fills
in (a miss), and objects that a kustomize ``$patch: delete`` removes (false findings). Each case
comes with a near-identical one whose verdict must not change."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import RepoFactory

RBAC = "rbac-workload-reads-all-secrets"


def found(root: Path, check: str = RBAC) -> list[tuple[str, str]]:
    return sorted((v.check_id, v.path) for v in check_policy(root, only=[check]).violations)


_DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: app\nspec:\n"
    "  template:\n    spec:\n      serviceAccountName: app\n"
    "      containers: [{name: c, image: example.invalid/app:1}]\n"
)


def _cluster_role(name: str, rules: str, labels: str = "", aggregation: str = "") -> str:
    text = f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
    if labels:
        text += f"  labels:\n    {labels}\n"
    if aggregation:
        text += f"aggregationRule:\n  clusterRoleSelectors:\n    - {aggregation}\n"
    return text + f"rules: {rules}\n"


_SECRETS = "[{apiGroups: [''], resources: [secrets], verbs: [get, list, watch]}]"
_CONFIGMAPS = "[{apiGroups: [''], resources: [configmaps], verbs: [get, list, watch]}]"
_BINDING = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: app\n"
    "roleRef:\n  kind: ClusterRole\n  name: app-reader\n  apiGroup: rbac.authorization.k8s.io\n"
    "subjects:\n  - kind: ServiceAccount\n    name: app\n    namespace: app\n"
)


class TestAggregatedClusterRole:
    """A ClusterRole with ``aggregationRule`` holds the rules of the ClusterRoles its selectors
    match (kubernetes pkg/controller/clusterroleaggregation): its own ``rules`` are empty."""

    def repo(self, make_repo: RepoFactory, part_rules: str, selector: str) -> Path:
        aggregated = _cluster_role("app-reader", "[]", aggregation=selector)
        part = _cluster_role("app-secrets", part_rules, labels="example.test/aggregate-to-app: 'true'")
        return make_repo({
            "rbac/roles.yaml": f"{aggregated}---\n{part}",
            "rbac/binding.yaml": _BINDING,
            "app/deployment.yaml": _DEPLOYMENT,
        })

    def test_a_workload_bound_to_an_aggregated_role_that_reads_secrets_is_reported(
        self, make_repo: RepoFactory
    ) -> None:
        root = self.repo(make_repo, _SECRETS, "{matchLabels: {example.test/aggregate-to-app: 'true'}}")
        assert found(root) == [(RBAC, "rbac/binding.yaml")]

    def test_match_expressions_select_too(self, make_repo: RepoFactory) -> None:
        exists = "{matchExpressions: [{key: example.test/aggregate-to-app, operator: Exists}]}"
        assert found(self.repo(make_repo, _SECRETS, exists)) == [(RBAC, "rbac/binding.yaml")]
        within = "{matchExpressions: [{key: example.test/aggregate-to-app, operator: In, values: ['true']}]}"
        assert found(self.repo(make_repo, _SECRETS, within)) == [(RBAC, "rbac/binding.yaml")]

    def test_an_aggregated_role_of_roles_that_read_no_secret_stays_silent(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, _CONFIGMAPS, "{matchLabels: {example.test/aggregate-to-app: 'true'}}")
        assert found(root) == []

    def test_a_selector_matching_no_secret_reading_role_stays_silent(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, _SECRETS, "{matchLabels: {example.test/aggregate-to-other: 'true'}}")
        assert found(root) == []


def messages(root: Path) -> list[str]:
    return sorted(v.message for v in check_policy(root, only=[RBAC]).violations)


class TestSubjectNamespaceFilledByKustomize:
    """kustomize's namespace transformer sets the namespace of (Cluster)RoleBinding subjects named
    ``default`` only (api/filters/namespace/namespace.go, ``roleBindingHack``, mode
    ``defaultOnly``, the mode of a kustomization's ``namespace:`` field); its name-reference pass
    (api/filters/nameref/nameref.go ``setMapping``; ServiceAccount -> ``subjects`` in
    api/internal/konfig/builtinpluginconsts/namereference.go) gives any other ServiceAccount
    subject the namespace of the one ServiceAccount of that name in the build, when the subject
    names no namespace or that account's original one."""

    ROLE = _cluster_role("app-reader", _SECRETS)
    DEPLOYMENT = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n"
        "  template:\n    spec:\n      serviceAccountName: app\n"
        "      containers: [{name: c, image: example.invalid/app:1}]\n"
    )
    ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n"

    def binding(self, subject: str) -> str:
        return _BINDING.replace("  - kind: ServiceAccount\n    name: app\n    namespace: app\n", subject)

    def repo(self, make_repo: RepoFactory, subject: str, *, account: str | None = ACCOUNT,
             deployment: str = DEPLOYMENT) -> Path:
        files = {
            "apps/app/kustomization.yaml": "namespace: app\nresources:\n  - rbac.yaml\n  - deployment.yaml\n"
            + ("  - serviceaccount.yaml\n" if account is not None else ""),
            "apps/app/rbac.yaml": f"{self.ROLE}---\n{self.binding(subject)}",
            "apps/app/deployment.yaml": deployment,
        }
        if account is not None:
            files["apps/app/serviceaccount.yaml"] = account
        return make_repo(files)

    def test_a_subject_without_namespace_takes_its_service_accounts(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  - kind: ServiceAccount\n    name: app\n")
        assert messages(root) == [
            "app lets ServiceAccount app/app (used by Deployment/app) read all Secrets in every namespace "
            "through ClusterRole app-reader"
        ]

    def test_a_subject_naming_the_accounts_original_namespace_is_moved_with_it(
        self, make_repo: RepoFactory
    ) -> None:
        # the kubebuilder layout: account and subject written for namespace "system"
        account = self.ACCOUNT + "  namespace: system\n"
        root = self.repo(make_repo, "  - kind: ServiceAccount\n    name: app\n    namespace: system\n",
                         account=account)
        assert [m.split(" (used")[0] for m in messages(root)] == ["app lets ServiceAccount app/app"]

    def test_a_subject_named_default_takes_the_kustomization_namespace(self, make_repo: RepoFactory) -> None:
        no_account = self.DEPLOYMENT.replace("      serviceAccountName: app\n", "")
        root = self.repo(make_repo, "  - kind: ServiceAccount\n    name: default\n    namespace: elsewhere\n",
                         account=None, deployment=no_account)
        assert [m.split(" (used")[0] for m in messages(root)] == ["app lets ServiceAccount app/default"]

    def test_a_subject_kustomize_does_not_rewrite_keeps_its_namespace(self, make_repo: RepoFactory) -> None:
        # no ServiceAccount "app" in the build and not named default: the subject stays in "other",
        # where a workload running as it is still reported; the one in "app" is not that account
        other = _DEPLOYMENT.replace("namespace: app", "namespace: other")
        root = self.repo(make_repo, "  - kind: ServiceAccount\n    name: app\n    namespace: other\n", account=None)
        (root / "other").mkdir()
        (root / "other/deployment.yaml").write_text(other, encoding="utf-8")
        assert [m.split(" (used")[0] for m in messages(root)] == ["app lets ServiceAccount other/app"]


def _flux_ks(path: str) -> str:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata:\n  name: pipeline\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  prune: true\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )


class TestDeletedByPatch:
    """A strategic-merge patch with ``$patch: delete`` removes the object of its kind, name and
    namespace from what the kustomization emits (kustomize api/internal/builtins/PatchTransformer.go;
    an emptied object leaves the build, api/resource/resource.go ``ApplyFilter``). What every
    build reaching it deletes is never deployed: neither ``plaintext-secret`` nor the RBAC audit
    judges it. Anything a build still emits is judged as before."""

    SECRET = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-secret\n  namespace: pipeline\n"
        "stringData:\n  password: Zq8vLm2pXw9rTb4nKe7s\n"
    )
    DELETE_SECRET = (
        "$patch: delete\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: pipeline\n"
    )
    ROLE = _cluster_role("pipeline-reader", _SECRETS)
    BINDING = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pipeline\n"
        "roleRef:\n  kind: ClusterRole\n  name: pipeline-reader\n  apiGroup: rbac.authorization.k8s.io\n"
        "subjects:\n  - kind: ServiceAccount\n    name: app\n    namespace: pipeline\n"
    )
    DELETE_ROLE = (
        "$patch: delete\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
    )

    def repo(self, make_repo: RepoFactory, overlay: str, extra: dict[str, str] | None = None) -> Path:
        return make_repo({
            "clusters/home/pipeline.yaml": _flux_ks("./apps/pipeline"),
            "apps/pipeline/kustomization.yaml": "resources:\n  - ../../upstream/pipeline/base\n" + overlay,
            "upstream/pipeline/base/kustomization.yaml":
                "resources:\n  - secret.yaml\n  - rbac.yaml\n  - deployment.yaml\n",
            "upstream/pipeline/base/secret.yaml": self.SECRET,
            "upstream/pipeline/base/rbac.yaml": f"{self.ROLE}---\n{self.BINDING}",
            "upstream/pipeline/base/deployment.yaml": _DEPLOYMENT.replace("namespace: app", "namespace: pipeline"),
            **(extra or {}),
        })

    @staticmethod
    def inline(body: str) -> str:
        return "patches:\n  - patch: |-\n" + "".join(f"      {line}\n" for line in body.splitlines())

    def test_a_secret_deleted_by_an_inline_patch_is_not_judged(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.inline(self.DELETE_SECRET.format(name="db-secret")))
        assert found(root, "plaintext-secret") == []

    def test_a_patch_deleting_another_secret_leaves_it_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.inline(self.DELETE_SECRET.format(name="other-secret")))
        assert found(root, "plaintext-secret") == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]
        wrong_namespace = self.DELETE_SECRET.format(name="db-secret").replace("namespace: pipeline", "namespace: x")
        root = self.repo(make_repo, self.inline(wrong_namespace))
        assert found(root, "plaintext-secret") == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]

    def test_a_patch_file_and_patches_strategic_merge_delete_too(self, make_repo: RepoFactory) -> None:
        patch = {"apps/pipeline/delete-secret.yaml": self.DELETE_SECRET.format(name="db-secret")}
        root = self.repo(make_repo, "patches:\n  - path: delete-secret.yaml\n", patch)
        assert found(root, "plaintext-secret") == []
        root = self.repo(make_repo, "patchesStrategicMerge:\n  - delete-secret.yaml\n", patch)
        assert found(root, "plaintext-secret") == []
        inline_old = "patchesStrategicMerge:\n  - |-\n" + "".join(
            f"    {line}\n" for line in self.DELETE_SECRET.format(name="db-secret").splitlines())
        assert found(self.repo(make_repo, inline_old), "plaintext-secret") == []

    def test_a_target_selects_what_the_patch_deletes(self, make_repo: RepoFactory) -> None:
        body = "$patch: delete\napiVersion: v1\nkind: Secret\nmetadata:\n  name: any\n"
        overlay = ("patches:\n  - target: {kind: Secret, name: db-.*}\n    patch: |-\n"
                   + "".join(f"      {line}\n" for line in body.splitlines()))
        assert found(self.repo(make_repo, overlay), "plaintext-secret") == []
        other = overlay.replace("name: db-.*", "name: web-.*")
        assert found(self.repo(make_repo, other), "plaintext-secret") == [
            ("plaintext-secret", "upstream/pipeline/base/secret.yaml")]

    def test_a_target_pattern_runs_as_go_regexp_would(self, make_repo: RepoFactory) -> None:
        """kustomize runs a target's name with Go's RE2: a nested quantifier that backtracking
        engines take exponential time over finishes at once (and matches nothing here), and RE2's
        ``\\z`` anchor, which Python's ``re`` spells differently, still selects."""
        import time

        body = "$patch: delete\napiVersion: v1\nkind: Secret\nmetadata:\n  name: any\n"

        def overlay(name: str) -> str:
            return (f"patches:\n  - target: {{kind: Secret, name: '{name}'}}\n    patch: |-\n"
                    + "".join(f"      {line}\n" for line in body.splitlines()))

        started = time.monotonic()
        hostile = found(self.repo(make_repo, overlay("(d|db|db-)+x")), "plaintext-secret")
        assert time.monotonic() - started < 10
        assert hostile == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]
        assert found(self.repo(make_repo, overlay("db-secret\\z")), "plaintext-secret") == []

    def test_a_build_that_does_not_delete_it_still_deploys_it(self, make_repo: RepoFactory) -> None:
        # a second Flux Kustomization builds the upstream base as it is
        raw = _flux_ks("./upstream/pipeline/base").replace("name: pipeline\n", "name: raw\n", 1)
        overlay = self.inline(self.DELETE_SECRET.format(name="db-secret"))
        root = self.repo(make_repo, overlay, {"clusters/home/raw.yaml": raw})
        assert found(root, "plaintext-secret") == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]
        # or a kustomization that nothing includes (applied by other means) builds it unpatched
        other = {"upstream/pipeline/overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n"}
        root = self.repo(make_repo, overlay, other)
        assert found(root, "plaintext-secret") == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]

    def test_a_namespace_set_by_the_base_is_the_one_the_patch_names(self, make_repo: RepoFactory) -> None:
        unnamespaced = {
            "upstream/pipeline/base/kustomization.yaml":
                "namespace: pipeline\nresources:\n  - secret.yaml\n  - rbac.yaml\n  - deployment.yaml\n",
            "upstream/pipeline/base/secret.yaml": self.SECRET.replace("  namespace: pipeline\n", ""),
        }
        root = self.repo(make_repo, self.inline(self.DELETE_SECRET.format(name="db-secret")), unnamespaced)
        assert found(root, "plaintext-secret") == []
        elsewhere = self.DELETE_SECRET.format(name="db-secret").replace("namespace: pipeline", "namespace: x")
        root = self.repo(make_repo, self.inline(elsewhere), unnamespaced)
        assert found(root, "plaintext-secret") == [("plaintext-secret", "upstream/pipeline/base/secret.yaml")]

    def test_a_deleted_cluster_role_grants_nothing(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.inline(self.DELETE_ROLE.format(name="pipeline-reader")))
        assert found(root) == []
        root = self.repo(make_repo, self.inline(self.DELETE_ROLE.format(name="another-role")))
        assert found(root) == [(RBAC, "upstream/pipeline/base/rbac.yaml")]

    def test_a_deleted_workload_runs_as_no_account(self, make_repo: RepoFactory) -> None:
        delete = ("$patch: delete\napiVersion: apps/v1\nkind: Deployment\n"
                  "metadata:\n  name: {name}\n  namespace: pipeline\n")
        assert found(self.repo(make_repo, self.inline(delete.format(name="app")))) == []
        assert found(self.repo(make_repo, self.inline(delete.format(name="web")))) == [
            (RBAC, "upstream/pipeline/base/rbac.yaml")]
