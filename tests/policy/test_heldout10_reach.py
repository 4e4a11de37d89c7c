"""Made-up, minimised reproductions of round 10's findings whose cause is *what Flux builds reach*
(docs/guardrails.md, "Held-out round 10"): a library of kustomize components, a test fixture
below a kustomization that does not list it, Kustomizations in a template directory, SOPS files
left out by a generated kustomization, example Secrets nothing deploys. Each case comes with a
near-identical one whose verdict must not change, so a fix cannot silence a true finding."""

from __future__ import annotations

import shutil
from pathlib import Path

from sopskit.policy import check_policy, validate_flux
from sopskit.policy.repo import load_repo
from tests.policy.conftest import AGE_VECTOR, SOPS_CONFIG, RepoFactory, encrypted_secret, flux_ks, vector_bytes

RBAC = ["rbac-workload-reads-all-secrets"]


ks = flux_ks


#: a ClusterRole reading every Secret, its binding, and a Deployment running as the account
_READER_APP = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: scanner\n"
    "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get, list, watch]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: scanner\n"
    "roleRef:\n  kind: ClusterRole\n  name: scanner\n  apiGroup: rbac.authorization.k8s.io\n"
    "subjects:\n  - kind: ServiceAccount\n    name: scanner\n    namespace: scan\n"
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: scanner\n  namespace: scan\nspec:\n"
    "  template:\n    spec:\n      serviceAccountName: scanner\n"
    "      containers: [{name: c, image: example.invalid/scanner:1}]\n"
)
_CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: scan\n"


def _rbac(root: Path) -> list[str]:
    return sorted({v.path for v in check_policy(root, only=RBAC).violations})


class TestLibraryOfComponents:
    """mthorley/k8s-gitops (10 false findings): ``infra/prod`` picks ``../common/a`` from a
    library of components; ``infra/common/b`` (a commented ``# - ../common/b``) is outside every
    Flux path, but a tree whose siblings Flux builds pick from is deployed only where a build
    reaches. The old code took ``b`` as "applied by other means" and reported it."""

    FILES = {
        **SOPS_CONFIG,
        "clusters/prod/infra.yaml": ks("infra", "./infra/prod"),
        "infra/prod/kustomization.yaml": "resources:\n  - ../common/a\n  # - ../common/b\n",
        "infra/common/a/kustomization.yaml": "resources:\n  - cm.yaml\n",
        "infra/common/a/cm.yaml": _CONFIGMAP,
        "infra/common/b/kustomization.yaml": "resources:\n  - app.yaml\n",
        "infra/common/b/app.yaml": _READER_APP,
    }

    def test_a_component_no_build_picks_is_not_deployed(self, make_repo: RepoFactory) -> None:
        assert _rbac(make_repo(self.FILES)) == []

    def test_the_component_a_build_picks_is_reported(self, make_repo: RepoFactory) -> None:
        files = {**self.FILES, "infra/prod/kustomization.yaml": "resources:\n  - ../common/a\n  - ../common/b\n"}
        assert _rbac(make_repo(files)) == ["infra/common/b/app.yaml"]

    def test_a_flux_component_is_a_pick_too(self, make_repo: RepoFactory) -> None:
        # Flux's own spec.components (relative to spec.path) reach into the library as well
        files = {**self.FILES, "clusters/prod/infra.yaml": ks("infra", "./infra/prod") + "  components:\n"
                 "    - ../common/b\n"}
        assert _rbac(make_repo(files)) == ["infra/common/b/app.yaml"]

    def test_a_tree_no_build_reaches_into_is_still_judged(self, make_repo: RepoFactory) -> None:
        # the Talos/Ansible bootstrap case: nothing Flux builds lists anything in talos/
        files = {**self.FILES, "talos/cni/kustomization.yaml": "resources:\n  - app.yaml\n",
                 "talos/cni/app.yaml": _READER_APP}
        assert _rbac(make_repo(files)) == ["talos/cni/app.yaml"]

    def test_an_overlay_beside_its_base_does_not_make_a_library(self, make_repo: RepoFactory) -> None:
        # apps/prod lists ../base: apps/ holds the overlay itself, so apps/tools stays judged
        files = {
            **SOPS_CONFIG,
            "clusters/prod/apps.yaml": ks("apps", "./apps/prod"),
            "apps/prod/kustomization.yaml": "resources:\n  - ../base\n",
            "apps/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
            "apps/base/cm.yaml": _CONFIGMAP,
            "apps/tools/kustomization.yaml": "resources:\n  - app.yaml\n",
            "apps/tools/app.yaml": _READER_APP,
        }
        assert _rbac(make_repo(files)) == ["apps/tools/app.yaml"]

    def test_key_material_in_an_unpicked_component_is_still_reported(self, make_repo: RepoFactory) -> None:
        # a private key committed in plaintext is in Git whether or not a build deploys it
        key = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\n  namespace: scan\nstringData:\n"
               "  tls.key: |\n    -----BEGIN " + "PRIVATE KEY-----\n    TUlJRXZnSUJBREFOQmdrcWhraUc5dzBC\n"
               "    -----END " + "PRIVATE KEY-----\n")
        root = make_repo({**self.FILES, "infra/common/b/tls.yaml": key})
        assert [v.path for v in check_policy(root, only=["plaintext-secret"]).violations] == [
            "infra/common/b/tls.yaml"]


_FIXTURE = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: wide\n  namespace: case\n"
    "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get, list]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: wide\n  namespace: case\n"
    "roleRef:\n  kind: Role\n  name: wide\n  apiGroup: rbac.authorization.k8s.io\n"
    "subjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: case\n"
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\n  namespace: case\nspec:\n"
    "  containers: [{name: c, image: example.invalid/probe:1}]\n"
)


class TestFixtureBelowAKustomizationThatDoesNotListIt:
    """webgrip/homelab-cluster (1 false finding): a Kyverno CLI test fixture (a Role reading
    Secrets, its binding, a Pod) in ``apps/policy/tests/cli/case/``, a directory without a
    kustomization file below ``apps/policy/kustomization.yaml``, which lists only ``./app/cm.yaml``.
    Flux builds ``./apps`` (no kustomization file: generated, ``apps/policy`` is one resource), so
    the fixture is never applied. The old code reported it, in the namespace of the
    kustomization's ``namespace:``, which does not touch a file it does not include."""

    FILES = {
        **SOPS_CONFIG,
        "clusters/home/apps.yaml": ks("apps", "./apps"),
        "apps/policy/kustomization.yaml": "namespace: kyverno\nresources:\n  - ./app/cm.yaml\n",
        "apps/policy/app/cm.yaml": _CONFIGMAP,
        "apps/policy/tests/cli/case/resources.yaml": _FIXTURE,
    }
    LISTED = "namespace: kyverno\nresources:\n  - ./app/cm.yaml\n  - ./tests/cli/case/resources.yaml\n"

    def test_the_fixture_is_not_deployed(self, make_repo: RepoFactory) -> None:
        assert _rbac(make_repo(self.FILES)) == []

    def test_listed_it_is_reported(self, make_repo: RepoFactory) -> None:
        files = {**self.FILES, "apps/policy/kustomization.yaml": self.LISTED}
        assert _rbac(make_repo(files)) == ["apps/policy/tests/cli/case/resources.yaml"]

    def test_a_helm_chart_below_the_kustomization_is_still_judged(self, make_repo: RepoFactory) -> None:
        # a local chart that a HelmRelease installs: helm-controller renders its templates/, not
        # kustomize (files beside templates/ are rendered by nothing: round 18)
        files = {**self.FILES, "apps/policy/tests/cli/Chart.yaml": "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
                 "apps/policy/tests/cli/templates/resources.yaml": _FIXTURE}
        assert _rbac(make_repo(files)) == ["apps/policy/tests/cli/templates/resources.yaml"]

    def test_the_kustomization_namespace_only_moves_what_it_includes(self, make_repo: RepoFactory) -> None:
        repo = load_repo(make_repo({**self.FILES, "apps/policy/app/cm.yaml": _CONFIGMAP.replace("scan", "other")}))
        fixture, cm = repo.by_rel["apps/policy/tests/cli/case/resources.yaml"], repo.by_rel["apps/policy/app/cm.yaml"]
        assert {repo.namespace_of(fixture, doc) for doc in fixture.yaml.documents} == {"case"}  # type: ignore[union-attr]
        assert repo.namespace_of(cm, cm.yaml.documents[0]) == "kyverno"  # type: ignore[union-attr]
        listed = load_repo(make_repo({**self.FILES, "apps/policy/kustomization.yaml": self.LISTED}))
        fixture = listed.by_rel["apps/policy/tests/cli/case/resources.yaml"]
        assert {listed.namespace_of(fixture, doc) for doc in fixture.yaml.documents} == {"kyverno"}  # type: ignore[union-attr]


class TestKustomizationsInATemplateDirectory:
    """aws-samples/eks-multi-cluster-gitops (5 false ``flux-path-missing``, 1
    ``kustomize-missing-file``): ``clusters/template/apps.yaml`` builds ``./clusters/cluster-name``,
    a literal placeholder that the repository's script substitutes when it copies the template
    directory. The old code reported the path as missing, and with no existing Flux path it fell
    back to checking every kustomization file."""

    FILES = {
        "clusters/template/apps.yaml": ks("apps", "./clusters/cluster-name"),
        "overlays/staging/kustomization.yaml": "resources:\n  - ../../base\n",
    }

    def _flux(self, root: Path) -> list[tuple[str, str]]:
        report = validate_flux(root, only=["flux-path-missing", "kustomize-missing-file"])
        return sorted((v.check_id, v.path) for v in report.violations)

    def test_a_template_is_not_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo(self.FILES)
        assert self._flux(root) == []
        notes = [n for s in validate_flux(root).statuses if s.check_id == "flux-path-missing" for n in s.notes]
        assert any("clusters/template/apps.yaml" in n and "template directory" in n for n in notes)

    def test_every_template_directory_name(self, make_repo: RepoFactory) -> None:
        for directory in ("templates", "_template", ".template", "cluster-template"):
            root = make_repo({f"clusters/{directory}/apps.yaml": ks("apps", "./clusters/cluster-name")})
            assert self._flux(root) == [], directory
            shutil.rmtree(root / "clusters")

    def test_the_same_kustomization_in_a_cluster_directory_is_reported(self, make_repo: RepoFactory) -> None:
        # a missing path in a real cluster directory: reported, and it builds nothing, so the
        # kustomization files no checked Flux Kustomization builds are still not checked
        files = {"clusters/prod/apps.yaml": ks("apps", "./clusters/cluster-name"),
                 "overlays/staging/kustomization.yaml": "resources:\n  - ../../base\n"}
        assert self._flux(make_repo(files)) == [("flux-path-missing", "clusters/prod/apps.yaml")]

    def test_a_built_kustomization_is_still_checked(self, make_repo: RepoFactory) -> None:
        files = {**self.FILES, "clusters/prod/apps.yaml": ks("apps", "./overlays/staging")}
        assert self._flux(make_repo(files)) == [("kustomize-missing-file", "overlays/staging/kustomization.yaml")]


class TestEncryptedFileBesideAKustomizationOfAGeneratedBuild:
    """oscaromeu/home-ops@2024-06-01 (2 misses): Flux builds ``./apps``, which has no
    kustomization file, so kustomize-controller generates one (fluxcd/pkg
    kustomize/kustomize_generator.go, ``findOrGenerateKustomization`` and ``scanManifests``: the
    ``.yaml``/``.yml`` files below the path, except that a subdirectory holding a kustomization
    file is added as one resource and not descended into). ``apps/web/kustomization.yaml``
    lists only ``./secret.sops.yaml``, so the SOPS-encrypted ``apps/web/test.yaml`` beside it is
    never applied. The old code took every file below a generated path as applied."""

    def files(self) -> dict[str, str | bytes]:
        encrypted = encrypted_secret()
        return {
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/web/kustomization.yaml": "resources:\n  - ./secret.sops.yaml\n",
            "apps/web/secret.sops.yaml": encrypted,
            "apps/web/test.yaml": encrypted,
        }

    def _unreferenced(self, root: Path) -> list[str]:
        return [v.path for v in validate_flux(root, only=["encrypted-file-unreferenced"]).violations]

    def test_a_file_the_kustomization_does_not_list_is_unreferenced(self, make_repo: RepoFactory) -> None:
        assert self._unreferenced(make_repo(self.files())) == ["apps/web/test.yaml"]

    def test_without_the_kustomization_the_generated_build_applies_it(self, make_repo: RepoFactory) -> None:
        files = self.files()
        del files["apps/web/kustomization.yaml"]
        assert self._unreferenced(make_repo(files)) == []

    def test_an_entry_commented_out_is_parked_on_purpose(self, make_repo: RepoFactory) -> None:
        files = {**self.files(),
                 "apps/web/kustomization.yaml": "resources:\n  - ./secret.sops.yaml\n  #- ./test.yaml\n"}
        assert self._unreferenced(make_repo(files)) == []


class TestExampleSecretNothingDeploys:
    """254CARBON/infra (2 false findings): ``examples/sops/demo-secret.plain.yaml``, the plaintext
    half of a SOPS walkthrough that no kustomization lists (its README calls it a template). Under
    a credential key a placeholder counts only when the Secret is deployed; the old code counted
    it unless the kustomization beside the file left it out."""

    EXAMPLE = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-secret\n  namespace: demo\ntype: Opaque\n"
               "stringData:\n  username: sample-user\n  password: sample-pass\n")
    FILES = {
        "clusters/home/apps.yaml": ks("apps", "./apps"),
        "apps/kustomization.yaml": "resources:\n  - cm.yaml\n",
        "apps/cm.yaml": _CONFIGMAP,
        "examples/sops/demo-secret.plain.yaml": EXAMPLE,
    }

    def _plaintext(self, root: Path) -> list[str]:
        return [v.path for v in check_policy(root, only=["plaintext-secret"]).violations]

    def test_placeholders_in_a_secret_no_build_reaches_are_a_template(self, make_repo: RepoFactory) -> None:
        assert self._plaintext(make_repo(self.FILES)) == []

    def test_deployed_the_placeholder_counts(self, make_repo: RepoFactory) -> None:
        listed = "resources:\n  - cm.yaml\n  - ../examples/sops/demo-secret.plain.yaml\n"
        files = {**self.FILES, "apps/kustomization.yaml": listed}
        assert self._plaintext(make_repo(files)) == ["examples/sops/demo-secret.plain.yaml"]

    def test_a_real_looking_password_in_the_same_file_is_reported(self, make_repo: RepoFactory) -> None:
        real = self.EXAMPLE.replace("sample-pass", "Vq" + "8rTz2mLk4w")
        assert self._plaintext(make_repo({**self.FILES, "examples/sops/demo-secret.plain.yaml": real})) == [
            "examples/sops/demo-secret.plain.yaml"]

    def test_without_any_build_the_placeholder_counts(self, make_repo: RepoFactory) -> None:
        # plain manifests (no kustomization, no Flux): applied by other means, as written
        assert self._plaintext(make_repo({"examples/sops/demo-secret.plain.yaml": self.EXAMPLE})) == [
            "examples/sops/demo-secret.plain.yaml"]


class TestUnreferencedIsAboutManifests:
    """The final-code run of round 10's fixes gave 10 false ``encrypted-file-unreferenced``
    findings: SOPS files that are no Kubernetes object (Talos secrets, Terraform variables, a
    sourced env file) and manifests under a Flux path filled in by ``${CLUSTER_NAME}``."""

    def test_a_sops_file_that_is_no_kubernetes_object_is_not_flux_s(self, make_repo: RepoFactory) -> None:
        files = {
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/web/kustomization.yaml": "resources:\n  - ./secret.sops.yaml\n",
            "apps/web/secret.sops.yaml": encrypted_secret(),
            "apps/web/talsecret.sops.yaml": vector_bytes(AGE_VECTOR),  # no apiVersion/kind
        }
        assert [v.path for v in validate_flux(make_repo(files), only=["encrypted-file-unreferenced"]).violations] == []
        files["apps/web/stray.sops.yaml"] = encrypted_secret("stray")
        assert [v.path for v in validate_flux(make_repo(files), only=["encrypted-file-unreferenced"]).violations] == [
            "apps/web/stray.sops.yaml"]

    def test_a_templated_flux_path_may_build_it(self, make_repo: RepoFactory) -> None:
        files = {
            "clusters/home/apps.yaml": ks("apps", "./kubernetes/${CLUSTER_NAME}/apps"),
            "kubernetes/prod/apps/kustomization.yaml": "resources:\n  - ./app.yaml\n",
            "kubernetes/prod/apps/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "kubernetes/prod/apps/secret.sops.yaml": encrypted_secret(),
            "kubernetes/prod/other/kustomization.yaml": "resources:\n  - ./app.yaml\n",
            "kubernetes/prod/other/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n",
            "kubernetes/prod/other/secret.sops.yaml": encrypted_secret(),
        }
        found = [v.path for v in validate_flux(make_repo(files), only=["encrypted-file-unreferenced"]).violations]
        assert "kubernetes/prod/apps/secret.sops.yaml" not in found
