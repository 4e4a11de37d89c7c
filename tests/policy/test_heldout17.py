"""Made-up, minimised reproductions of the false findings and misses of the seventeenth held-out
round (docs/guardrails.md, "Held-out round 17"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

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
)
from tests.policy.test_heldout12 import AGE
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK

WILDCARD = "wildcard-secret-read"
AGEKEY = "gitignore-agekey"
#: an alias whose anchor is in an earlier document: broken YAML for every parser
BROKEN = "a: &x 1\n---\nb: *x\n"
KEY_SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\n"
    f"stringData:\n  age.agekey: {ENC}\n" + SOPS_BLOCK
)


class TestArchiveTrees:
    """``.archive/`` and ``.archived/`` hold an old setup for reference; nothing builds them. Broken
    YAML there breaks nothing, and a SOPS key kept there says nothing about how Flux decrypts now."""

    def test_broken_yaml_in_an_archive_is_not_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({".archive/apps/old/helmrelease.yaml": BROKEN, ".archived/x/ks.yaml": BROKEN})
        assert policy(root, "yaml-parse-error") == []
        assert flux(root, "yaml-parse-error") == []
        live = make_repo({"apps/old/helmrelease.yaml": BROKEN})
        assert policy(live, "yaml-parse-error") == [("apps/old/helmrelease.yaml", 3)]

    def test_age_used_only_in_an_archive_needs_no_gitignore_guard(self, make_repo: RepoFactory) -> None:
        files = {"kubernetes/flux/secret.sops.yaml": KEY_SECRET}
        archived = make_repo({f".archived/{path}": text for path, text in files.items()}, gitignore="")
        assert policy(archived, AGEKEY) == []
        assert policy(make_repo(files, gitignore=""), AGEKEY) == [(".gitignore", None)]

    def test_a_key_secret_kept_in_an_archive_means_flux_decrypts_nothing(self, make_repo: RepoFactory) -> None:
        binding = cluster_binding("headlamp-admin", "cluster-admin", "headlamp", "monitoring", define_role=False)
        live = {**FLUX_SOURCE, "apps/headlamp/rbac.yaml": binding,
                "apps/headlamp/helmrelease.yaml": helm_release("    serviceAccount:\n      name: headlamp\n")}
        archived = make_repo({**live, ".archived/flux/sops-age.sops.yaml": KEY_SECRET,
                              ".archived/.sops.yaml": SOPS_CONFIG[".sops.yaml"]})
        assert found(archived, KEY, RBAC) == [(RBAC, "apps/headlamp/rbac.yaml")]
        kept = make_repo({**live, "flux/sops-age.sops.yaml": KEY_SECRET})
        assert found(kept, KEY, RBAC) == [(KEY, "apps/headlamp/rbac.yaml"), (RBAC, "apps/headlamp/rbac.yaml")]


class TestNixShellKeyFile:
    """A ``shell.nix`` ``mkShell`` attribute ``SOPS_AGE_KEY_FILE = "${toString ./.}/age.key";``
    names ``age.key`` beside the ``.nix`` file; a root-anchored ``/age.key`` line ignores it."""

    NIX = 'pkgs.mkShell {\n  packages = [ pkgs.sops pkgs.age ];\n  SOPS_AGE_KEY_FILE = "${toString ./.}/age.key";\n}\n'

    def repo(self, make_repo: RepoFactory, gitignore: str, nix_path: str = "shell.nix") -> Path:
        return make_repo({".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", nix_path: self.NIX},
                         gitignore=gitignore)

    def test_an_anchored_ignore_line_guards_it(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "/age.key\n"), AGEKEY) == []

    def test_without_it_the_key_can_be_committed(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "result\n"), AGEKEY) == [(".gitignore", None)]

    def test_the_path_is_the_nix_files_directory(self, make_repo: RepoFactory) -> None:
        """In ``nix/shell.nix`` the key is ``nix/age.key``, which ``nix/*.key`` ignores."""
        assert policy(self.repo(make_repo, "nix/*.key\n", "nix/shell.nix"), AGEKEY) == []
        assert policy(self.repo(make_repo, "nix/*.key\n"), AGEKEY) == [(".gitignore", None)]


class TestServiceAccountWrittenAsAUser:
    """``kind: User, name: system:serviceaccount:NS:NAME`` is the user name the API server gives
    that account's token: the binding grants the account."""

    @staticmethod
    def binding(subject: str) -> str:
        return (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: runner\n"
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n"
            f"subjects:\n  - apiGroup: rbac.authorization.k8s.io\n    kind: User\n    name: {subject}\n"
        )

    RUNNER = helm_release("    serviceAccount:\n      name: runner\n", namespace="ci", name="runner")

    def repo(self, make_repo: RepoFactory, subject: str) -> Path:
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/ci/rbac.yaml": self.binding(subject),
                          "apps/ci/helmrelease.yaml": self.RUNNER})

    def test_it_is_the_account(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "system:serviceaccount:ci:runner")
        assert found(root, KEY, RBAC) == [(KEY, "apps/ci/rbac.yaml"), (RBAC, "apps/ci/rbac.yaml")]

    def test_a_person_is_deliberate_trust(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, "jane@example.org"), KEY, RBAC) == []
        assert found(self.repo(make_repo, "federated:system:serviceaccount:ci:runner"), KEY, RBAC) == []


class TestChartDefaultAccounts:
    """Cilium's agent runs as ``cilium`` and Atlantis's server as its full name when the values
    name no account; RBAC a repository binds to those names reaches the chart's pods."""

    @staticmethod
    def release(chart: str, name: str, namespace: str, values: str = "    debug: {enabled: false}\n") -> str:
        return (
            f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n"
            f"  namespace: {namespace}\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: {chart}\n"
            f"      sourceRef: {{kind: HelmRepository, name: {chart}}}\n  values:\n{values}"
        )

    def test_cilium_runs_as_cilium(self, make_repo: RepoFactory) -> None:
        reader = secrets_binding("gateway-secrets", "gateway-secrets", "cilium", "kube-system")
        files = {**FLUX_SOURCE, "net/rbac.yaml": reader}
        root = make_repo({**files, "net/helmrelease.yaml": self.release("cilium", "cilium", "kube-system")})
        assert found(root, RBAC) == [(RBAC, "net/rbac.yaml")]
        elsewhere = make_repo({**files, "net/helmrelease.yaml": self.release("cilium", "cilium", "network")})
        assert found(elsewhere, RBAC) == []
        renamed = self.release("cilium", "cilium", "kube-system", "    serviceAccounts:\n      cilium:\n"
                               "        name: agent\n")
        assert found(make_repo({**files, "net/helmrelease.yaml": renamed}), RBAC) == []

    def test_atlantis_runs_as_its_full_name(self, make_repo: RepoFactory) -> None:
        admin = cluster_binding("atlantis", "cluster-admin", "atlantis", "atlantis", define_role=False)
        files = {**FLUX_SOURCE, "tf/rbac.yaml": admin}
        root = make_repo({**files, "tf/helmrelease.yaml": self.release("atlantis", "atlantis", "atlantis")})
        assert found(root, RBAC) == [(RBAC, "tf/rbac.yaml")]
        other = make_repo({**files, "tf/helmrelease.yaml": self.release("atlantis", "tf", "atlantis")})
        assert found(other, RBAC) == []  # release "tf": the account is "tf-atlantis"


class TestAccountBesideAnAppTemplateReleaseThatNamesNone:
    """bjw-s app-template runs its pods as ``default`` unless the values name or define an account:
    a ServiceAccount committed beside it and bound to ``cluster-admin`` is held by no pod."""

    ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: defrag\n  namespace: system\n"
    VALUES = "    controllers:\n      defrag:\n        type: cronjob\n"

    def repo(self, make_repo: RepoFactory, values: str, chart: str = "app-template",
             extra: dict[str, str] | None = None) -> Path:
        release = helm_release(values, namespace="system", name="defrag").replace(
            "chart: status-page", f"chart: {chart}")
        binding = cluster_binding("defrag", "cluster-admin", "defrag", "system", define_role=False)
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/defrag/rbac.yaml": self.ACCOUNT + "---\n" + binding,
                          "apps/defrag/helmrelease.yaml": release, **(extra or {})})

    def test_no_pod_holds_it(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.VALUES)
        assert "chart: app-template" in (root / "apps/defrag/helmrelease.yaml").read_text()
        assert found(root, KEY, RBAC) == []

    def test_values_that_mention_an_account_keep_it(self, make_repo: RepoFactory) -> None:
        templated = self.VALUES + "        serviceAccount:\n          name: ${APP}\n"
        assert found(self.repo(make_repo, templated), KEY) == [(KEY, "apps/defrag/rbac.yaml")]

    def test_another_chart_keeps_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.VALUES, chart="etcd-defrag"), KEY) == [(KEY, "apps/defrag/rbac.yaml")]

    def test_a_token_secret_for_it_keeps_it(self, make_repo: RepoFactory) -> None:
        token = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: defrag-token\n  namespace: system\n"
                 "  annotations:\n    kubernetes.io/service-account.name: defrag\n"
                 "type: kubernetes.io/service-account-token\n")
        root = self.repo(make_repo, self.VALUES, extra={"apps/defrag/token.yaml": token})
        assert found(root, KEY) == [(KEY, "apps/defrag/rbac.yaml")]


class TestGcpPolicyDataBindings:
    """An authoritative ``google_organization_iam_policy`` takes its bindings from a
    ``google_iam_policy`` data source: ``roles/owner`` there is an organisation-wide grant."""

    TF = (
        'data "google_iam_policy" "org" {\n  binding {\n    role    = "roles/viewer"\n'
        '    members = ["group:audit@example.org"]\n  }\n  binding {\n    role    = "roles/owner"\n'
        '    members = ["group:admins@example.org"]\n  }\n}\n\n'
        'resource "google_organization_iam_policy" "org" {\n  org_id      = "123"\n'
        "  policy_data = data.google_iam_policy.org.policy_data\n}\n"
    )

    def test_the_owner_binding_is_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({"terraform/org/iam.tf": self.TF})
        [violation] = check_policy(root, only=[WILDCARD]).violations
        assert (violation.path, violation.line) == ("terraform/org/iam.tf", 6)
        assert "roles/owner" in violation.message and "organization" in violation.message

    def test_a_data_source_no_policy_sets_is_not(self, make_repo: RepoFactory) -> None:
        unused = self.TF.split("resource ")[0]
        assert policy(make_repo({"terraform/org/iam.tf": unused}), WILDCARD) == []


