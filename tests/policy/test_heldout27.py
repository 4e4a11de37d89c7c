"""Made-up, minimised reproductions of the findings of the twenty-seventh held-out round
(docs/guardrails.md, "Held-out round 27"). Each case comes with a near-identical one whose verdict
must not change."""

from __future__ import annotations

from tests.policy import test_heldout26
from tests.policy.conftest import SOPS_CONFIG, RepoFactory, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, KEY, RBAC, cluster_binding, found, workload
from tests.policy.test_realworld_cases import ks


class TestDashboardLoginAccount:
    """A ServiceAccount committed beside a Kubernetes Dashboard HelmRelease and bound to
    ``cluster-admin`` (the dashboard's documented login account): the chart's pods run as
    accounts it creates, so no pod holds this one's token. With a token Secret committed for
    it, the token is in use and the binding stays reported."""

    TOKEN = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: dashboard-user\n  namespace: monitoring\n"
             "  annotations:\n    kubernetes.io/service-account.name: dashboard-user\n"
             "type: kubernetes.io/service-account-token\n")

    @staticmethod
    def files() -> dict[str, str]:
        values = "    app:\n      ingress:\n        enabled: true\n"
        release = test_heldout26.TestCiliumBgpSecretsRole.release(values).replace(
            "chart: cilium", "chart: kubernetes-dashboard").replace("name: cilium", "name: dashboard").replace(
            "namespace: kube-system", "namespace: monitoring")
        account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: dashboard-user\n  namespace: monitoring\n"
        admin = cluster_binding("dashboard-user", "cluster-admin", "dashboard-user", "monitoring", define_role=False)
        return {**SOPS_CONFIG, **FLUX_SOURCE, "clusters/home/apps.yaml": ks("apps", "./apps"),
                "apps/kustomization.yaml": "resources:\n  - release.yaml\n  - account.yaml\n  - admin.yaml\n",
                "apps/release.yaml": release, "apps/account.yaml": account, "apps/admin.yaml": admin}

    def test_the_login_account_is_idle(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files()), KEY) == []

    def test_with_its_token_committed_it_is_not(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["apps/account.yaml"] += "---\n" + self.TOKEN
        assert found(make_repo(files), KEY) == [(KEY, "apps/admin.yaml")]


class TestStaleCopyOfTheFluxTree:
    """``backup/`` is an old copy of ``cluster/``: its ``backup/base/flux-system/gotk-sync.yaml``
    syncs ``./cluster/base``, not itself, and its Kustomizations point at ``./cluster/...``, so
    Flux never reads the copy and RBAC in it deploys nothing (outside every Flux path it read as
    applied by hand). The live tree's same file is reported; a second cluster whose sync path is its own
    directory is a live tree too."""

    @staticmethod
    def files(copy_sync: str) -> dict[str, str]:
        admin = cluster_binding("upgrade", "cluster-admin", "upgrade", "system-upgrade", define_role=False)
        controller = workload("Deployment", "upgrade", "system-upgrade", "upgrade", "x/upgrade:1")
        files: dict[str, str] = {**SOPS_CONFIG, **FLUX_SOURCE}
        for root, sync in (("cluster", "./cluster/base"), ("backup", copy_sync)):
            files[f"{root}/base/flux-system/gotk-sync.yaml"] = ks("flux-system", sync)
            files[f"{root}/base/flux-system/kustomization.yaml"] = "resources:\n  - gotk-sync.yaml\n"
            # the copy's Kustomizations still point at the paths they had: the live ones
            files[f"{root}/base/core.yaml"] = ks("core", sync.replace("/base", "/core"))
            files[f"{root}/core/kustomization.yaml"] = "resources:\n  - upgrade.yaml\n"
            files[f"{root}/core/upgrade.yaml"] = admin + "---\n" + controller
        return files

    def test_the_copy_is_not_judged(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files("./cluster/base")), RBAC) == [(RBAC, "cluster/core/upgrade.yaml")]

    def test_a_tree_that_syncs_itself_is(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files("./backup/base")), RBAC) == [
            (RBAC, "backup/core/upgrade.yaml"), (RBAC, "cluster/core/upgrade.yaml")]


class TestGeneratorInputsThatAreCodeOrDocs:
    """secretGenerator inputs that are a Markdown instructions file (a curl example sending
    ``PRIVATE-TOKEN: $GITLAB_TOKEN``) or a third-party Lua library (``_author = "..."``,
    ``self.auth = copy(t.auth)``): no literal credential. A literal password in the same Lua
    file is one."""

    @staticmethod
    def files(name: str, content: str) -> dict[str, str]:
        return {**SOPS_CONFIG, **FLUX_SOURCE, "clusters/home/apps.yaml": ks("apps", "./apps"),
                "apps/kustomization.yaml": f"secretGenerator:\n  - name: input\n    files:\n      - {name}\n",
                f"apps/{name}": content}

    MARKDOWN = ("# Working with the tracker\n\nList the open issues:\n\n```\n"
                'curl --header "PRIVATE-TOKEN: $GITLAB_TOKEN" \\\n  https://gitlab.example.org/api/v4/issues\n```\n')
    LUA = ('local _M = {}\n_M._author = "Ada Example <ada@example.org>"\n'
           "function _M.new(t)\n  local self = {}\n  self.auth = copy_table(t.auth) or {}\n  return self\nend\n")

    def test_docs_and_code_without_literals_hold_nothing(self, make_repo: RepoFactory) -> None:
        assert policy(make_repo(self.files("CLAUDE.md", self.MARKDOWN)), "plaintext-secret") == []
        assert policy(make_repo(self.files("http.lua", self.LUA)), "plaintext-secret") == []

    def test_a_literal_password_in_code_is_a_secret(self, make_repo: RepoFactory) -> None:
        literal = self.LUA + '_M.password = "Vq7' + 'wLp2Rz9Tn"\n'
        assert policy(make_repo(self.files("http.lua", literal)), "plaintext-secret") == [("apps/http.lua", None)]


class TestValuesFromAGeneratedConfigMap:
    """A Cilium HelmRelease whose values come only from ``valuesFrom``: a ConfigMap that the
    kustomization's ``configMapGenerator`` makes from ``values.yaml``, which sets
    ``gatewayAPI.enabled: true``. helm-controller merges it in, so the operator reads every
    Secret. Inline values merge on top and win."""

    def files(self, inline: str = "") -> dict[str, str]:
        release = test_heldout26.TestCiliumBgpSecretsRole.release(inline or "    {}\n").replace(
            "  values:\n", "  valuesFrom:\n    - kind: ConfigMap\n      name: cilium-values\n  values:\n")
        return {**SOPS_CONFIG, **FLUX_SOURCE, "clusters/home/apps.yaml": ks("apps", "./net"),
                "net/kustomization.yaml": ("resources:\n  - helmrelease.yaml\nconfigMapGenerator:\n"
                                           "  - name: cilium-values\n    files:\n      - values.yaml\n"),
                "net/helmrelease.yaml": release, "net/values.yaml": "gatewayAPI:\n  enabled: true\n"}

    def test_generated_values_count(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files()), RBAC, KEY) == [
            (KEY, "net/helmrelease.yaml"), (RBAC, "net/helmrelease.yaml")]

    def test_inline_values_win(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files("    gatewayAPI:\n      enabled: false\n")), RBAC, KEY) == []
