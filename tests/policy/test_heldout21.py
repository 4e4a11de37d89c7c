"""Made-up, minimised reproductions of the false findings of the twenty-first held-out round
(docs/guardrails.md, "Held-out round 21"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy.resourceset import resource_set_objects
from sopskit.policy.yamldocs import parse_yaml_documents
from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, KEY, RBAC, SOPS_CONFIG, cluster_binding, found, helm_release
from tests.policy.test_realworld_cases import SOPS_BLOCK, ks

MISSING = "kustomize-missing-file"


def resource_set(inputs: str) -> str:
    return (
        "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n"
        f"  namespace: flux-system\nspec:\n{inputs}  resources:\n"
        "    - apiVersion: kustomize.toolkit.fluxcd.io/v1\n      kind: Kustomization\n"
        "      metadata:\n        name: << inputs.namespace >>-apps\n        namespace: flux-system\n"
        "      spec:\n        interval: 1h\n        path: ./apps/<< inputs.namespace >>\n"
        "        sourceRef:\n          kind: GitRepository\n          name: flux-system\n"
        "        targetNamespace: << inputs.namespace >>\n"
    )


class TestResourceSetKustomizations:
    """A Flux Operator ``ResourceSet`` stamps out one Flux Kustomization per namespace from
    ``path: ./apps/<< inputs.namespace >>``. Unrendered, the namespace kustomizations looked
    unbuilt and every app's ``ks.yaml`` a root: an app the namespace kustomization comments out
    was judged as deployed (its RBAC, its kustomization's missing files)."""

    INPUTS = "  inputs:\n    - namespace: web\n    - namespace: db\n"

    def repo(self, make_repo: RepoFactory, inputs: str) -> Path:
        app_kustomization = "resources:\n  - ./deploy.yaml\n  - ./missing.yaml\n"
        deploy = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("cluster", "./clusters/cluster"),
            "clusters/cluster/kustomization.yaml": "resources:\n  - ./resourceset.yaml\n",
            "clusters/cluster/resourceset.yaml": resource_set(inputs),
            "apps/web/kustomization.yaml": "resources:\n  - ./live/ks.yaml\n  # - ./parked/ks.yaml\n",
            "apps/db/kustomization.yaml": "resources: []\n",
            **{f"apps/web/{app}/ks.yaml": ks(app, f"./apps/web/{app}/app") for app in ("live", "parked")},
            **{f"apps/web/{app}/app/kustomization.yaml": app_kustomization for app in ("live", "parked")},
            **{f"apps/web/{app}/app/deploy.yaml": deploy for app in ("live", "parked")},
        })

    def test_an_app_the_rendered_namespace_comments_out_is_not_judged(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, self.INPUTS)
        assert flux(root, MISSING) == [("apps/web/live/app/kustomization.yaml", 3)]

    def test_a_namespace_no_input_names_is_built_by_nothing(self, make_repo: RepoFactory) -> None:
        # before rendering, both apps' ks.yaml were roots and both missing files were reported
        assert flux(self.repo(make_repo, "  inputs:\n    - namespace: db\n"), MISSING) == []


def test_resource_set_rendering_fills_inline_inputs_and_keeps_the_rest_templated() -> None:
    text = (
        "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: t\nspec:\n"
        "  inputs:\n    - {tenant: a, replicas: 2, tls: true, nested: {path: deep}}\n"
        "  resources:\n    - kind: X\n      spec:\n        name: '<< inputs.tenant >>'\n"
        "        count: '<<- inputs.replicas >>'\n        tls: '<< inputs.tls >>'\n"
        "        path: ./t/<< inputs.nested.path >>\n        id: '<< inputs.id >>'\n"
        "        upper: '<< inputs.tenant | upper >>'\n"
    )
    [doc] = parse_yaml_documents(text).documents
    [rendered] = resource_set_objects(doc)
    assert rendered.data["spec"] == {"name": "a", "count": "2", "tls": "true", "path": "./t/deep",
                                     "id": "${inputs.id}", "upper": "${inputs.tenant | upper}"}
    assert rendered.line == 9  # line look-ups point into the template


def test_resource_set_inputs_from_a_provider_leave_the_path_templated(make_repo: RepoFactory) -> None:
    """``inputsFrom`` (a ResourceSetInputProvider) cannot be read from the file: the rendered
    path stays templated (``./apps/${inputs.namespace}``), so no app below it is judged unbuilt
    or parked, and none is taken for a root of its own either."""
    root = TestResourceSetKustomizations().repo(
        make_repo, "  inputsFrom:\n    - kind: ResourceSetInputProvider\n      name: namespaces\n")
    assert flux(root, MISSING) == []


class TestStubInAnUnappliedSecret:
    """A plaintext Secret named ``*.sops.yaml`` that its kustomization leaves out, its token keys
    holding four typed letters: a stand-in no service would issue. A short password may be real."""

    @staticmethod
    def repo(make_repo: RepoFactory, entries: str, listed: bool = False) -> Path:
        secret = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: publish\nstringData:\n{entries}"
        kustomization = "resources:\n  - ./secret.sops.yaml\n" if listed else "resources:\n  - ./deploy.yaml\n"
        return make_repo({
            **FLUX_SOURCE, "clusters/home/apps.yaml": ks("apps", "./apps/publish"),
            "apps/publish/kustomization.yaml": kustomization,
            "apps/publish/deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "apps/publish/secret.sops.yaml": secret,
        })

    def test_token_stubs_in_an_unapplied_file_are_not_reported(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "  API_TOKEN: sdas\n  ACCOUNT_ID: dsda\n"), "plaintext-secret") == []

    def test_a_short_password_still_counts(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  DB_PASSWORD: sdas\n")
        assert policy(root, "plaintext-secret") == [("apps/publish/secret.sops.yaml", 5)]

    def test_a_real_looking_token_still_counts(self, make_repo: RepoFactory) -> None:
        token = "q8Zr2LmX" + "0vTn4Pw7KcYb1Hs9"  # split: the repository's own scan must stay clean
        root = self.repo(make_repo, f"  API_TOKEN: {token}\n")
        assert policy(root, "plaintext-secret") == [("apps/publish/secret.sops.yaml", 5)]

    def test_an_applied_stub_still_counts(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "  API_TOKEN: sdas\n", listed=True)
        assert policy(root, "plaintext-secret") == [("apps/publish/secret.sops.yaml", 5)]


class TestServiceAccountTokenSecretEncrypted:
    """A SOPS-encrypted ``kubernetes.io/service-account-token`` Secret holds only its name and
    ``type``: the cluster fills the token in, there is nothing for the selection to encrypt."""

    BODY = ("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/service-account-token\nmetadata:\n"
            "  name: dashboard\n  annotations:\n    kubernetes.io/service-account.name: dashboard\n")

    def test_nothing_to_protect(self, make_repo: RepoFactory) -> None:
        text = self.BODY + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
        assert policy(make_repo({"token.sops.yaml": text}), "sops-selection-encrypts-nothing") == []

    def test_a_value_beside_it_is_still_reported(self, make_repo: RepoFactory) -> None:
        text = self.BODY + "spec:\n  token: typed-in\n" + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
        assert policy(make_repo({"token.sops.yaml": text}), "sops-selection-encrypts-nothing") == [
            ("token.sops.yaml", None)]


class TestRunnerScaleSetAccount:
    """actions-runner-controller's ``gha-runner-scale-set`` runs its runners as
    ``template.spec.serviceAccountName``, else as an account the chart makes: a ServiceAccount
    committed under the release's name and bound to ``cluster-admin``, never wired into the runner
    template, is held by no pod."""

    ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n  namespace: arc\n"
    VALUES = ("    githubConfigUrl: https://github.example.invalid/org\n    serviceAccountName: other\n"
              "    template:\n      spec:\n        containers:\n          - name: runner\n            image: r:1\n")

    def repo(self, make_repo: RepoFactory, values: str, chart: str = "gha-runner-scale-set") -> Path:
        release = helm_release(values, namespace="arc", name="runner").replace("chart: status-page", f"chart: {chart}")
        binding = cluster_binding("runner", "cluster-admin", "runner", "arc", define_role=False)
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/arc/rbac.yaml": self.ACCOUNT + "---\n" + binding,
                          "apps/arc/helmrelease.yaml": release})

    def test_no_runner_holds_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.VALUES), KEY, RBAC) == []

    def test_a_runner_template_naming_it_keeps_it(self, make_repo: RepoFactory) -> None:
        wired = self.VALUES + "        serviceAccountName: runner\n"
        assert found(self.repo(make_repo, wired), KEY, RBAC) == [
            (KEY, "apps/arc/rbac.yaml"), (RBAC, "apps/arc/rbac.yaml")]

    def test_another_chart_keeps_it(self, make_repo: RepoFactory) -> None:
        assert found(self.repo(make_repo, self.VALUES, chart="runner-farm"), KEY) == [(KEY, "apps/arc/rbac.yaml")]
