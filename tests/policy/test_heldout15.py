"""Made-up, minimised reproductions of the false findings and misses of the fifteenth held-out
round (docs/guardrails.md, "Held-out round 15"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    workload,
)
from tests.policy.test_heldout12 import AGE
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK, ks

DECRYPTION = "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"

NFD_VALUES = (
    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: nfd\nspec:\n"
    "  values:\n    worker:\n      config:\n        sources:\n          custom:\n"
    "            - name: zigbee\n              matchOn:\n                - usbId:\n"
    "                    vendor: [\"10c4\"]\n"
)


def test_a_tab_between_a_key_and_its_colon_is_white_space(make_repo: RepoFactory) -> None:
    """libyaml, Go's YAML (kubectl, Flux) read ``feature.enabled<TAB>: true`` as a key; only
    PyYAML's pure-Python scanner refuses the tab. A tab that indents is an error everywhere."""
    tabbed = NFD_VALUES + "                    feature.enabled\t: true\n"
    root = make_repo({"apps/nfd/helmrelease.yaml": tabbed})
    assert policy(root, "yaml-parse-error") == []
    assert flux(root, "yaml-parse-error") == []
    indented = NFD_VALUES + "\t\t\t\t\t    feature.enabled: true\n"
    root = make_repo({"apps/nfd/helmrelease.yaml": indented})
    assert policy(root, "yaml-parse-error") == [("apps/nfd/helmrelease.yaml", 15)]


def test_tabs_before_a_comment_and_in_a_flow_list_are_white_space(make_repo: RepoFactory) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\t# the tab before it\ndata:\n  a: b\n"
    flow = "ports: [80,\t443]\n"
    root = make_repo({"cm.yaml": text, "flow.yaml": flow})
    assert policy(root, "yaml-parse-error") == []
    broken = make_repo({"flow.yaml": "ports: [80,\t443\n"})
    assert policy(broken, "yaml-parse-error") == [("flow.yaml", 2)]


class TestTerraformPublicKeyDefault:
    """``ssh_key`` is a secret-sounding name, but an OpenSSH public key line is published by
    design; the private half as a default stays a finding."""

    @staticmethod
    def variable(default: str) -> str:
        return f'variable "ssh_key" {{\n  type    = string\n  default = "{default}"\n}}\n'

    def test_a_public_key_default_passes(self, make_repo: RepoFactory) -> None:
        public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + "Fq3mN8x" * 6 + " admin@laptop"
        root = make_repo({"terraform/vars.tf": self.variable(public)})
        assert policy(root, "terraform-secret-default") == []
        local = f'locals {{\n  deploy_key = "{public}"\n}}\n'
        assert policy(make_repo({"terraform/locals.tf": local}), "terraform-secret-default") == []

    def test_a_token_default_is_still_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({"terraform/vars.tf": self.variable("Zq8" + "vK2mP9xR4t" * 3)})
        assert policy(root, "terraform-secret-default") == [("terraform/vars.tf", 3)]


def test_a_password_manager_name_is_not_a_secret_word(make_repo: RepoFactory) -> None:
    """``onepassword_vault`` names a 1Password vault; ``onepassword_token`` is a credential."""
    names = 'locals {\n  onepassword_vault = "homelab"\n  onepassword_item  = "cloudflare"\n}\n'
    assert policy(make_repo({"tofu/locals.tf": names}), "terraform-secret-default") == []
    token = 'locals {\n  onepassword_token = "ops_' + "eyJhbGciOiJFUzI1NiIsImtpZCI6" + '"\n}\n'
    assert policy(make_repo({"tofu/locals.tf": token}), "terraform-secret-default") == [("tofu/locals.tf", 2)]


class TestPathsSetByOverlayPatches:
    """A shared base gives its Flux Kustomizations ``path: must-be-patched``; the cluster's overlay
    replaces it with an inline strategic-merge or JSON 6902 patch. The patched path is the one
    Flux uses and the one checked."""

    @staticmethod
    def repo(make_repo: RepoFactory, patch: str, apps_dir: str = "apps/home") -> Path:
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/flux-system/sync.yaml": ks("flux-system", "./clusters/home"),
            "clusters/home/kustomization.yaml": "resources:\n  - flux-system\n  - ../../k8s/base\n" + patch,
            "k8s/base/kustomization.yaml": "resources:\n  - cluster.yaml\n",
            "k8s/base/cluster.yaml": ks("apps", "must-be-patched"),
            f"{apps_dir}/kustomization.yaml": "resources: []\n",
        })

    STRATEGIC = (
        "patchesStrategicMerge:\n  - |-\n    apiVersion: kustomize.toolkit.fluxcd.io/v1\n    kind: Kustomization\n"
        "    metadata:\n      name: apps\n      namespace: flux-system\n    spec:\n      path: ./apps/home\n"
    )
    JSON6902 = (
        "patches:\n  - target:\n      kind: Kustomization\n      name: apps\n    patch: |-\n"
        "      - op: replace\n        path: /spec/path\n        value: ./apps/home\n"
    )

    @pytest.mark.parametrize("patch", [STRATEGIC, JSON6902], ids=["strategic-merge", "json6902"])
    def test_a_patched_placeholder_path_passes(self, make_repo: RepoFactory, patch: str) -> None:
        assert flux(self.repo(make_repo, patch), "flux-path-missing") == []

    @pytest.mark.parametrize("patch", [STRATEGIC, JSON6902], ids=["strategic-merge", "json6902"])
    def test_a_patched_path_that_is_missing_is_reported(self, make_repo: RepoFactory, patch: str) -> None:
        root = self.repo(make_repo, patch, apps_dir="apps/elsewhere")
        assert flux(root, "flux-path-missing") == [("k8s/base/cluster.yaml", 8)]

    def test_an_unpatched_placeholder_is_reported(self, make_repo: RepoFactory) -> None:
        assert flux(self.repo(make_repo, ""), "flux-path-missing") == [("k8s/base/cluster.yaml", 8)]


class TestAKustomizationNothingDeploysBuildsNothing:
    """A Flux Kustomization defined in a file that its directory's kustomization.yaml does not
    list is never applied, so the SOPS file below its path is never applied either."""

    @staticmethod
    def repo(make_repo: RepoFactory, listed: bool) -> Path:
        flux_system = "resources:\n  - gotk-sync.yaml\n  - apps.yaml\n" + ("  - secrets.yaml\n" if listed else "")
        return make_repo({
            "clusters/prod/flux-system/gotk-sync.yaml": FLUX_SOURCE["clusters/home/flux-system/source.yaml"]
            + "---\n" + ks("flux-system", "./clusters/prod"),
            "clusters/prod/flux-system/kustomization.yaml": flux_system,
            "clusters/prod/flux-system/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources: []\n",
            "clusters/prod/flux-system/secrets.yaml": ks("secrets", "./clusters/prod/secrets", extra=DECRYPTION),
            "clusters/prod/kustomization.yaml": "resources:\n  - flux-system\n",
            "clusters/prod/secrets/age.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: k\n"
            f"stringData:\n  key: {ENC}\n{SOPS_BLOCK}",
        })

    def test_the_file_below_an_unlisted_kustomization_is_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, listed=False)
        assert flux(root, "encrypted-file-unreferenced") == [("clusters/prod/secrets/age.yaml", None)]

    def test_listed_it_builds_the_file(self, make_repo: RepoFactory) -> None:
        assert flux(self.repo(make_repo, listed=True), "encrypted-file-unreferenced") == []


class TestAppTemplateRbacValues:
    """bjw-s app-template values declare the chart's RBAC: ``rbac.bindings.<id>`` binds the
    release's own account (``subjects: [{identifier: <id>}]``) to ``cluster-admin`` or to an
    ``rbac.roles`` entry; the controller runs as that account."""

    ACCOUNT = "    serviceAccount:\n      upgrader: {}\n"

    @staticmethod
    def repo(make_repo: RepoFactory, rbac: str, account: str = ACCOUNT) -> Path:
        values = account + "    rbac:\n" + rbac
        return make_repo({
            **SOPS_CONFIG, **FLUX_SOURCE,
            "apps/upgrader/helmrelease.yaml": helm_release(values, namespace="system", name="upgrader"),
        })

    ADMIN = ("      bindings:\n        upgrader:\n          type: ClusterRoleBinding\n"
             "          roleRef:\n            kind: ClusterRole\n            name: cluster-admin\n"
             "          subjects:\n            - identifier: upgrader\n")
    OWN_ROLE = ("      roles:\n        reader:\n          type: ClusterRole\n          rules:\n"
                "            - apiGroups: ['']\n              resources: [secrets]\n              verbs: [get, list]\n"
                "      bindings:\n        reader:\n          type: ClusterRoleBinding\n"
                "          roleRef:\n            identifier: reader\n"
                "          subjects:\n            - identifier: upgrader\n")
    NARROW_ROLE = OWN_ROLE.replace("resources: [secrets]", "resources: [nodes]")

    def test_a_binding_to_cluster_admin_is_reported_by_both_checks(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.ADMIN)
        assert found(root, RBAC, KEY) == [(KEY, "apps/upgrader/helmrelease.yaml"),
                                          (RBAC, "apps/upgrader/helmrelease.yaml")]

    def test_a_values_role_that_reads_secrets_is_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.OWN_ROLE)
        assert found(root, RBAC, KEY) == [(KEY, "apps/upgrader/helmrelease.yaml"),
                                          (RBAC, "apps/upgrader/helmrelease.yaml")]

    def test_a_values_role_without_secrets_passes(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.NARROW_ROLE), RBAC, KEY) == []

    def test_an_account_no_controller_runs_as_is_only_the_key_finding(self, make_repo: RepoFactory) -> None:
        """``serviceAccount.helper`` is named ``upgrader-helper``; no controller is said to run as it."""
        rbac = self.ADMIN.replace("identifier: upgrader", "identifier: helper")
        root = self.repo(make_repo, rbac, account="    serviceAccount:\n      helper: {}\n")
        assert found(root, RBAC, KEY) == [(KEY, "apps/upgrader/helmrelease.yaml")]

    def test_the_finding_points_at_the_binding(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.ADMIN)
        [violation] = check_policy(root, only=[RBAC]).violations
        assert violation.line == 18  # the binding's first field, below rbac.bindings.upgrader
        assert "upgrader" in violation.message and "cluster-admin" in violation.message


class TestKyvernoAccountBesideA3xChart:
    """Kyverno's chart 3.0 runs its controllers as ``kyverno-admission-controller`` and others;
    a committed ``kyverno:admin`` binding for the 2.x account ``kyverno`` reaches no pod. Beside a
    2.x chart (or with a workload running as it) the binding is a real path to the key."""

    BINDING = cluster_binding("kyverno:admin", "admin", "kyverno", "kyverno", define_role=False)

    @staticmethod
    def release(version: str) -> str:
        return (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: kyverno\n"
            "  namespace: kyverno\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: kyverno\n"
            f"      version: {version}\n      sourceRef: {{kind: HelmRepository, name: kyverno}}\n"
            "  values:\n    admissionController:\n      replicas: 3\n"
        )

    def repo(self, make_repo: RepoFactory, release: str, extra: dict[str, str] | None = None) -> Path:
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/kyverno/rbac.yaml": self.BINDING,
                          "apps/kyverno/helmrelease.yaml": release, **(extra or {})})

    def test_beside_a_3x_chart_it_is_not_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.release("3.3.7")), KEY) == []

    def test_beside_a_2x_chart_it_is_reported(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.release("2.7.5")), KEY) == [(KEY, "apps/kyverno/rbac.yaml")]

    def test_an_oci_chart_ref_is_read_for_its_tag(self, make_repo: RepoFactory) -> None:
        release = self.release("3.3.7").replace(
            "  chart:\n    spec:\n      chart: kyverno\n      version: 3.3.7\n"
            "      sourceRef: {kind: HelmRepository, name: kyverno}\n",
            "  chartRef:\n    kind: OCIRepository\n    name: kyverno\n")
        source = ("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: kyverno\n"
                  "  namespace: kyverno\nspec:\n  url: oci://ghcr.io/kyverno/charts/kyverno\n  ref:\n    tag: {tag}\n")
        assert found(self.repo(make_repo, release, {"apps/kyverno/oci.yaml": source.format(tag="3.3.7")}), KEY) == []
        root = self.repo(make_repo, release, {"apps/kyverno/oci.yaml": source.format(tag="2.7.5")})
        assert found(root, KEY) == [(KEY, "apps/kyverno/rbac.yaml")]

    def test_a_workload_running_as_it_keeps_it_reported(self, make_repo: RepoFactory) -> None:
        pod = workload("Deployment", "old-kyverno", "kyverno", "kyverno", "example.org/kyverno:1.9")
        root = self.repo(make_repo, self.release("3.3.7"), {"apps/kyverno/old.yaml": pod})
        assert found(root, KEY) == [(KEY, "apps/kyverno/rbac.yaml")]


class TestOperatorResourcesAreWorkloads:
    """A custom resource whose operator runs pods as ``serviceAccountName`` (a system-upgrade Plan,
    ``spec.workload.serviceAccountName`` of an MCP server) is a workload of that account; a Flux
    Kustomization's ``serviceAccountName`` is impersonation, not a pod."""

    MCP = ("apiVersion: litellm.example.org/v1alpha1\nkind: MCPServer\nmetadata:\n  name: k8s\n  namespace: ai\n"
           "spec:\n  workload:\n    image: example.org/mcp:1\n    serviceAccountName: mcp-sa\n")

    def repo(self, make_repo: RepoFactory, resource: str) -> Path:
        binding = cluster_binding("mcp-read", "mcp-read", "mcp-sa", "ai")
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/ai/rbac.yaml": binding, "apps/ai/mcp.yaml": resource})

    def test_an_operator_resource_runs_as_its_account(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.MCP), RBAC) == [(RBAC, "apps/ai/rbac.yaml")]

    def test_another_namespace_or_a_flux_object_is_not_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.MCP.replace("namespace: ai", "namespace: web")), RBAC) == []
        flux_ks = ks("ai", "./apps/ai", extra="  serviceAccountName: mcp-sa\n").replace(
            "namespace: flux-system", "namespace: ai")
        assert found(self.repo(make_repo, flux_ks), RBAC) == []


class TestPathsWithAFixedClusterVariable:
    """``spec.path: ./kubernetes/${CLUSTER}/apps/web`` where the cluster-settings ConfigMap that
    the parent's ``postBuild.substituteFrom`` names fixes ``CLUSTER``: the path is checked as
    substituted. With two clusters (two values) it stays a template."""

    @staticmethod
    def repo(make_repo: RepoFactory, clusters: tuple[str, ...], listed: bool) -> Path:
        post = ("  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-settings\n")
        files = {**FLUX_SOURCE}
        for cluster in clusters:
            base = f"kubernetes/{cluster}"
            files.update({
                f"{base}/flux/sync.yaml": ks("cluster-apps" if cluster == clusters[0] else f"apps-{cluster}",
                                            f"./{base}/apps", extra=post),
                f"{base}/flux/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\n"
                f"  namespace: flux-system\ndata:\n  CLUSTER: {cluster}\n",
                f"{base}/apps/kustomization.yaml": "resources:\n  - web/ks.yaml\n",
                f"{base}/apps/web/ks.yaml": ks("web", "./kubernetes/${CLUSTER}/apps/web/app", extra=DECRYPTION),
                f"{base}/apps/web/app/kustomization.yaml": "resources:\n  - secret.sops.yaml\n"
                if listed else "resources: []\n",
                f"{base}/apps/web/app/secret.sops.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: w\n"
                f"stringData:\n  k: {ENC}\n{SOPS_BLOCK}",
            })
        return make_repo(files)

    def test_a_fixed_variable_is_substituted(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, ("home",), listed=False)
        assert flux(root, "encrypted-file-unreferenced") == [("kubernetes/home/apps/web/app/secret.sops.yaml", None)]
        assert flux(self.repo(make_repo, ("home",), listed=True), "encrypted-file-unreferenced") == []

    def test_a_variable_with_two_values_stays_a_template(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, ("home", "lab"), listed=False)
        assert flux(root, "encrypted-file-unreferenced") == []


class TestAnAppParkedByCommentingOutItsKustomization:
    """``#- ./thanos/ks.yaml`` in the apps kustomization takes the app out of the cluster on
    purpose; its SOPS file is kept for later, not forgotten. An unlisted ``ks.yaml`` (no comment)
    is still reported: nothing says it was parked."""

    @staticmethod
    def repo(make_repo: RepoFactory, entry: str) -> Path:
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/flux-system/sync.yaml": ks("flux-system", "./clusters/home"),
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources:\n  - ./grafana/ks.yaml\n" + entry,
            "apps/grafana/ks.yaml": ks("grafana", "./apps/grafana/app", extra=DECRYPTION),
            "apps/grafana/app/kustomization.yaml": "resources: []\n",
            "apps/thanos/ks.yaml": ks("thanos", "./apps/thanos/app", extra=DECRYPTION),
            "apps/thanos/app/secret.sops.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n"
            f"stringData:\n  k: {ENC}\n{SOPS_BLOCK}",
        })

    def test_a_commented_out_app_is_parked(self, make_repo: RepoFactory) -> None:
        assert flux(self.repo(make_repo, "  #- ./thanos/ks.yaml\n"), "encrypted-file-unreferenced") == []

    def test_an_unlisted_app_is_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "")
        assert flux(root, "encrypted-file-unreferenced") == [("apps/thanos/app/secret.sops.yaml", None)]


class TestRound16:
    """Round 16's false finding and misses (first contact on 0236e4a)."""

    def test_path_instead_of_path_regex_is_an_ignored_key(self, make_repo: RepoFactory) -> None:
        rule = f"creation_rules:\n  - path: kubernetes/.*\\.sops\\.yaml\n    age: {AGE}\n"
        assert policy(make_repo({".sops.yaml": rule}), "sops-config-ignored-key") == [(".sops.yaml", 2)]
        both = f"creation_rules:\n  - path_regex: kubernetes/.*\n    path: kubernetes\n    age: {AGE}\n"
        assert policy(make_repo({".sops.yaml": both}), "sops-config-ignored-key") == []

    def test_a_kyverno_binding_in_the_old_namespace_beside_a_3x_chart_elsewhere(self, make_repo: RepoFactory) -> None:
        """The 2.x setup ran in ``kyverno``; the 3.x chart now runs in ``system``."""
        release = TestKyvernoAccountBesideA3xChart.release("3.2.6").replace("namespace: kyverno", "namespace: system")
        files = {**SOPS_CONFIG, **FLUX_SOURCE, "apps/kyverno/rbac.yaml": TestKyvernoAccountBesideA3xChart.BINDING,
                 "apps/kyverno/helmrelease.yaml": release}
        assert found(make_repo(files), KEY) == []
        # a second cluster still on 2.x keeps the account alive somewhere: reported
        old = TestKyvernoAccountBesideA3xChart.release("2.7.5").replace("namespace: kyverno", "namespace: policy")
        assert found(make_repo({**files, "apps/old/helmrelease.yaml": old}), KEY) == [(KEY, "apps/kyverno/rbac.yaml")]


class TestHeadlampBindsItsOwnAccount:
    """The Headlamp chart binds its own account to ``cluster-admin`` unless told not to
    (``clusterRoleBinding.create: false``); the dashboard runs as that account."""

    @staticmethod
    def repo(make_repo: RepoFactory, values: str) -> Path:
        release = helm_release(values, namespace="flux-system", name="headlamp").replace(
            "chart: status-page", "chart: headlamp")
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/headlamp/helmrelease.yaml": release})

    def test_the_default_binding_is_reported_by_both_checks(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "    replicaCount: 1\n")
        assert found(root, RBAC, KEY) == [(KEY, "apps/headlamp/helmrelease.yaml"),
                                          (RBAC, "apps/headlamp/helmrelease.yaml")]

    def test_values_that_name_cluster_admin_are_reported(self, make_repo: RepoFactory) -> None:
        values = "    clusterRoleBinding:\n      create: true\n      clusterRoleName: cluster-admin\n"
        assert found(self.repo(make_repo, values), RBAC) == [(RBAC, "apps/headlamp/helmrelease.yaml")]

    @pytest.mark.parametrize("values", [
        "    clusterRoleBinding:\n      create: false\n",
        "    clusterRoleBinding:\n      clusterRoleName: view\n",
    ], ids=["switched-off", "view"])
    def test_no_binding_or_a_narrow_role_passes(self, make_repo: RepoFactory, values: str) -> None:
        assert found(self.repo(make_repo, values), RBAC, KEY) == []

    def test_an_oci_chart_ref_and_a_fullname_override_name_the_account(self, make_repo: RepoFactory) -> None:
        release = (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: dashboard\n"
            "  namespace: flux-system\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: headlamp\n"
            "  values:\n    fullnameOverride: headlamp\n"
        )
        source = ("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: headlamp\n"
                  "  namespace: flux-system\nspec:\n  url: oci://ghcr.io/example/charts-mirror/headlamp\n"
                  "  ref:\n    tag: 0.40.0\n")
        root = make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/headlamp/helmrelease.yaml": release,
                          "apps/headlamp/oci.yaml": source})
        [violation] = check_policy(root, only=[RBAC]).violations
        assert "flux-system/headlamp " in violation.message and "cluster-admin" in violation.message
