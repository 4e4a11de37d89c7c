"""Made-up, minimised reproductions of the false findings and misses of the twentieth held-out
round (docs/guardrails.md, "Held-out round 20"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import (
    FLUX_SOURCE,
    KEY,
    RBAC,
    SOPS_CONFIG,
    cluster_binding,
    found,
    secrets_binding,
    workload,
)
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK, ks

PROVIDER = "flux-decryption-provider"
ENCRYPTED_SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
    f"  token: {ENC}\n" + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
)


def test_a_kustomization_that_builds_nothing_deploys_nothing(make_repo: RepoFactory) -> None:
    """A Flux Kustomization's ``spec:`` pasted into ``kustomization.yaml``: kustomize refuses it,
    and it lists nothing, so the RBAC and the Deployment beside it are never applied."""
    pasted = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: capacitor\n"
              "spec:\n  interval: 1h\n  path: ./deployments/capacitor\n")
    files = {**SOPS_CONFIG, **FLUX_SOURCE, "clusters/home/apps.yaml": ks("apps", "./deployments/capacitor"),
             "deployments/capacitor/rbac.yaml": secrets_binding("cap", "cap", "cap", "flux-system"),
             "deployments/capacitor/deploy.yaml": workload("Deployment", "cap", "flux-system", "cap", "x/cap:1")}
    assert found(make_repo({**files, "deployments/capacitor/kustomization.yaml": pasted}), RBAC) == []
    listed = "resources:\n  - rbac.yaml\n  - deploy.yaml\n"
    root = make_repo({**files, "deployments/capacitor/kustomization.yaml": listed})
    assert found(root, RBAC) == [(RBAC, "deployments/capacitor/rbac.yaml")]


def test_a_sentence_in_a_kubeconfig_token_field_is_no_credential(make_repo: RepoFactory) -> None:
    """A proxy that authenticates by network identity: the kubeconfig's ``token:`` holds a
    sentence of words, as its commit says; a generated token is a credential."""
    def kubeconfig(token: str) -> str:
        return ("apiVersion: v1\nkind: Config\nclusters:\n  - name: home\n    cluster:\n"
                "      server: https://proxy.example.invalid\nusers:\n  - name: proxy\n    user:\n"
                f"      token: {token}\n")
    assert policy(make_repo({"kubeconfig.yaml": kubeconfig("mesh-identity-is-the-credential-here")}),
                  "kubeconfig") == []
    assert policy(make_repo({"kubeconfig.yaml": kubeconfig("k7Qw9zX2vB4nM8pL1rT6yH3d")}),
                  "kubeconfig") == [("kubeconfig.yaml", 8)]


class TestLabelSelectedDecryptionPatches:
    """The root Kustomization patches ``spec.decryption`` only into children labelled
    ``sops.example/enabled=true``: an unlabelled child that builds a SOPS file gets none. A
    template copy of the GitRepository (``url: ${GIT_URL}``) does not hide the real one."""

    @staticmethod
    def repo(make_repo: RepoFactory, selector: str, child_labels: str) -> Path:
        patches = ("  patches:\n    - target:\n        kind: Kustomization\n"
                   f"        labelSelector: {selector}\n"
                   "      patch: |\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n        kind: Kustomization\n"
                   "        metadata:\n          name: not-used\n        spec:\n          decryption:\n"
                   "            provider: sops\n            secretRef:\n              name: sops-age\n")
        child = ks("web", "./apps/web/app").replace(
            "  namespace: flux-system\n", f"  namespace: flux-system\n{child_labels}", 1)
        source = FLUX_SOURCE["clusters/home/flux-system/source.yaml"]
        return make_repo({
            "clusters/home/flux-system/source.yaml": source,
            "tmpl/flux/source.yaml": source.replace("https://example.invalid/home.git", "${GIT_URL}"),
            "clusters/home/apps.yaml": ks("apps", "./apps", extra=patches),
            "apps/kustomization.yaml": "resources:\n  - ./web/ks.yaml\n",
            "apps/web/ks.yaml": child,
            "apps/web/app/kustomization.yaml": "resources:\n  - ./secret.sops.yaml\n",
            "apps/web/app/secret.sops.yaml": ENCRYPTED_SECRET,
        })

    LABEL = "  labels:\n    sops.example/enabled: \"true\"\n"

    def test_an_unlabelled_child_gets_no_decryption(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "sops.example/enabled=true", "")
        assert flux(root, PROVIDER) == [("apps/web/ks.yaml", 6)]

    def test_a_labelled_child_does(self, make_repo: RepoFactory) -> None:
        assert flux(self.repo(make_repo, "sops.example/enabled=true", self.LABEL), PROVIDER) == []

    def test_a_negative_selector_matches_the_unlabelled(self, make_repo: RepoFactory) -> None:
        assert flux(self.repo(make_repo, "sops.example/disabled notin (true)", ""), PROVIDER) == []


class TestTrueChartsRbacValues:
    """TrueCharts' common library: ``rbac.main: {enabled, primary, clusterWide, rules}`` binds the
    rules to the primary ``serviceAccount`` the pods run as."""

    @staticmethod
    def release(rules: str) -> str:
        return (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: gatus\n  namespace: gatus\n"
            "spec:\n  interval: 15m\n  chart:\n    spec:\n      chart: app-template\n"
            "      sourceRef: {kind: HelmRepository, name: truecharts, namespace: flux-system}\n"
            "  values:\n    rbac:\n      main:\n        enabled: true\n        primary: true\n"
            "        clusterWide: true\n        rules:\n          - apiGroups: ['']\n"
            f"            resources: [{rules}]\n"
            "            verbs: [get, list, watch]\n    serviceAccount:\n      main:\n        enabled: true\n"
            "        primary: true\n"
        )

    def test_secret_rules_are_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/gatus/helm-release.yaml": self.release("secrets")})
        assert found(root, KEY, RBAC) == [(KEY, "apps/gatus/helm-release.yaml"), (RBAC, "apps/gatus/helm-release.yaml")]

    def test_other_rules_are_not(self, make_repo: RepoFactory) -> None:
        root = make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/gatus/helm-release.yaml": self.release("configmaps")})
        assert found(root, KEY, RBAC) == []


class TestAParkedApp:
    """``# - ./thanos/ks.yaml`` in the parent kustomization parks the app: a SOPS file its own
    kustomization also leaves out is not "forgotten", and a missing entry in it breaks nothing."""

    def repo(self, make_repo: RepoFactory, entry: str, source: str = "flux-system") -> Path:
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": f"resources:\n  - ./web/ks.yaml\n{entry}",
            "apps/web/ks.yaml": ks("web", "./apps/web/app"),
            "apps/web/app/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
            "apps/web/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
            "apps/thanos/ks.yaml": ks("thanos", "./apps/thanos/app",
                                      source=f"kind: GitRepository\n    name: {source}"),
            "apps/thanos/app/kustomization.yaml": "resources:\n  - ./cm.yaml\n  - ../../../templates/volsync\n",
            "apps/thanos/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: thanos\n",
            "apps/thanos/app/secret.sops.yaml": ENCRYPTED_SECRET,
        })

    def test_its_files_are_not_reported(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  # - ./thanos/ks.yaml\n", source="home-kubernetes")
        assert flux(root, "encrypted-file-unreferenced") == []
        assert flux(root, "kustomize-missing-file") == []

    def test_listed_they_are(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  - ./thanos/ks.yaml\n")
        assert flux(root, "encrypted-file-unreferenced") == [("apps/thanos/app/secret.sops.yaml", None)]
        assert flux(root, "kustomize-missing-file") == [("apps/thanos/app/kustomization.yaml", 3)]


class TestRegressionsOfThisRound:
    """Found by the full run over every labelled snapshot, not by a labeller: a ``ks.yaml`` kept
    beside the app's own kustomization (which lists only the app's manifests) is listed by the
    parent; and a Flux Kustomization whose GitRepository is defined outside the repository still
    gives its files their ``targetNamespace``."""

    BINDING = cluster_binding("headlamp", "cluster-admin", "headlamp", "kube-system", define_role=False)
    RELEASE = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: headlamp\nspec:\n"
               "  interval: 1h\n  chart:\n    spec:\n      chart: headlamp\n"
               "      sourceRef: {kind: HelmRepository, name: headlamp}\n"
               "  values:\n    clusterRoleBinding:\n      create: false\n    serviceAccount:\n      name: headlamp\n")

    def repo(self, make_repo: RepoFactory, source: str) -> Path:
        app = ks("headlamp", "./apps/kube-system/headlamp", source=f"kind: GitRepository\n    name: {source}",
                 extra="  targetNamespace: kube-system\n")
        return make_repo({
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps/kube-system"),
            "apps/kube-system/kustomization.yaml": "resources:\n  - ./headlamp/ks.yaml\n",
            "apps/kube-system/headlamp/ks.yaml": app,
            "apps/kube-system/headlamp/kustomization.yaml": "resources:\n  - ./helmrelease.yaml\n  - ./rbac.yaml\n",
            "apps/kube-system/headlamp/helmrelease.yaml": self.RELEASE,
            "apps/kube-system/headlamp/rbac.yaml": self.BINDING,
        })

    def test_a_ks_yaml_the_parent_lists_is_live(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "flux-system")
        assert found(root, RBAC) == [(RBAC, "apps/kube-system/headlamp/rbac.yaml")]

    def test_a_source_defined_elsewhere_keeps_the_target_namespace(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "home-kubernetes")
        assert found(root, RBAC) == [(RBAC, "apps/kube-system/headlamp/rbac.yaml")]
