"""Made-up, minimised reproductions of the findings of the twenty-sixth held-out round
(docs/guardrails.md, "Held-out round 26"). Each case comes with a near-identical one whose verdict
must not change."""

from __future__ import annotations

import pytest

from sopskit.policy.credentials_in_text import is_material
from tests.policy import test_heldout17
from tests.policy.conftest import AGE_VECTOR_RECIPIENT, SOPS_CONFIG, RepoFactory, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, KEY, RBAC, found, secrets_binding, workload

BGP_ON = "    bgpControlPlane:\n      enabled: true\n"


class TestCiliumBgpSecretsRole:
    """Cilium 1.14+ with ``bgpControlPlane.enabled`` renders a Role that reads every Secret of
    ``bgpControlPlane.secretsNamespace.name`` (default ``kube-system``) for the agent's account:
    the agent DaemonSet reads every Secret of kube-system. Nothing of it is committed."""

    @staticmethod
    def release(values: str, version: str = "1.18.4") -> str:
        text = test_heldout17.TestChartDefaultAccounts.release("cilium", "cilium", "kube-system", values)
        return text.replace("      sourceRef:", f"      version: {version}\n      sourceRef:")

    def repo(self, make_repo: RepoFactory, values: str, version: str = "1.18.4") -> list[tuple[str, str]]:
        return found(make_repo({**FLUX_SOURCE, "net/helmrelease.yaml": self.release(values, version)}), RBAC)

    def test_bgp_on_reads_kube_systems_secrets(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, BGP_ON) == [(RBAC, "net/helmrelease.yaml")]

    @pytest.mark.parametrize("values", [
        "    bgpControlPlane:\n      enabled: false\n",
        "    debug: {enabled: false}\n",
        BGP_ON + "    serviceAccounts:\n      cilium:\n        create: false\n",
    ])
    def test_without_bgp_or_without_the_account_nothing(self, make_repo: RepoFactory, values: str) -> None:
        assert self.repo(make_repo, values) == []

    def test_a_chart_older_than_the_role_renders_none(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, BGP_ON, version="1.13.4") == []


class TestKeyFileRelativeToTheScript:
    """``flux/decrypt.sh`` sets ``SOPS_AGE_KEY_FILE="./.sops/flux.agekey"`` and the root
    .gitignore ignores ``flux/.sops/**``: the script is run from ``flux/``, where its key is
    ignored. A .gitignore that guards neither reading is still reported."""

    SCRIPT = '#!/bin/bash\nexport SOPS_AGE_KEY_FILE="./.sops/flux.agekey"\nsops --decrypt --in-place "${1}"\n'

    def test_the_scripts_own_directory_counts(self, make_repo: RepoFactory) -> None:
        root = make_repo({**SOPS_CONFIG, "flux/decrypt.sh": self.SCRIPT}, gitignore="flux/.sops/**\n")
        assert policy(root, "gitignore-agekey") == []

    def test_a_guard_for_neither_reading_is_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({**SOPS_CONFIG, "flux/decrypt.sh": self.SCRIPT}, gitignore="other/.sops/**\n")
        assert policy(root, "gitignore-agekey") == [(".gitignore", None)]


def test_rbac_at_the_end_of_a_large_operator_bundle_is_read(make_repo: RepoFactory) -> None:
    """An operator bundle of 4 MB (its CRDs first, then the RBAC that lets its Deployment read
    every Secret) was past the 2 MiB the policy read as text, so nothing in it was judged."""
    schema = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: schema\ndata:\n  crd: |\n" + (
        "    description: a field of the operator's custom resource, documented at length\n" * 36_000)
    reader = secrets_binding("operator", "operator", "operator", "monitoring")
    operator = workload("Deployment", "operator", "monitoring", "operator", "x/operator:1")
    bundle = f"{schema}---\n{reader}---\n{operator}"
    assert len(bundle) > 2 * 1024 * 1024
    assert found(make_repo({"crds/bundle.yaml": bundle}), RBAC) == [(RBAC, "crds/bundle.yaml")]


def test_a_plaintext_age_key_file_in_a_secret_is_a_secret(make_repo: RepoFactory) -> None:
    """A plaintext ``sops-age`` Secret whose ``*.agekey`` value is an age key file as age-keygen
    writes it (``# created:`` and ``# public key:`` lines above the key): the comment lines made
    it read as configuration without credentials. The comment lines alone are not a secret."""
    identity = "AGE-SECRET-KEY-" + "1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2
    key_file = f"# created: 2026-01-01T00:00:00Z\n# public key: {AGE_VECTOR_RECIPIENT}\n{identity}\n"

    def secret(text: str) -> str:
        body = "".join(f"    {line}\n" for line in text.splitlines())
        return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\n"
                f"stringData:\n  age.agekey: |-\n{body}")

    assert policy(make_repo({**SOPS_CONFIG, "bootstrap/secret.yaml": secret(key_file)}), "plaintext-secret") == [
        ("bootstrap/secret.yaml", 6)]
    comments = "\n".join(key_file.splitlines()[:2]) + "\n"
    assert policy(make_repo({**SOPS_CONFIG, "bootstrap/secret.yaml": secret(comments)}), "plaintext-secret") == []


def test_an_age_recipient_in_a_nested_sops_yaml_means_age_is_used(make_repo: RepoFactory) -> None:
    """The only ``.sops.yaml`` is ``clusters/lab/.sops.yaml`` (sops finds it from the files below
    it), with an age recipient: the repository uses age even before a file is encrypted. A
    recipient commented out there does not count."""
    nested = {"clusters/lab/.sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n"}
    assert policy(make_repo(nested, gitignore="/node_modules/\n"), "gitignore-agekey") == [(".gitignore", None)]
    commented = {"clusters/lab/.sops.yaml": f"creation_rules:\n  - pgp: ABCD\n#   age: {AGE_VECTOR_RECIPIENT}\n"}
    assert policy(make_repo(commented, gitignore="/node_modules/\n"), "gitignore-agekey") == []


class TestCiliumOperatorReadsSecretsForGateways:
    """With ``gatewayAPI.enabled`` (or ``ingressController.enabled``) Cilium's operator
    ClusterRole gets/lists/watches every Secret in the cluster (it copies TLS Secrets for
    Envoy), so the operator can read the SOPS key in flux-system."""

    def repo(self, make_repo: RepoFactory, values: str) -> list[tuple[str, str]]:
        release = TestCiliumBgpSecretsRole.release(values)
        files = {**SOPS_CONFIG, **FLUX_SOURCE, "net/helmrelease.yaml": release}
        return found(make_repo(files), RBAC, KEY)

    def test_the_gateway_switch_lets_the_operator_read_every_secret(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, "    gatewayAPI:\n      enabled: true\n") == [
            (KEY, "net/helmrelease.yaml"), (RBAC, "net/helmrelease.yaml")]

    def test_without_it_nothing(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, "    gatewayAPI:\n      enabled: false\n") == []


class TestKyvernoExtraResources:
    """A Kyverno 3.x HelmRelease adds ``secrets`` (get/list/watch) to the background controller's
    ClusterRole through ``backgroundController.rbac.clusterRole.extraResources``: the controller,
    which runs as ``kyverno-background-controller``, reads every Secret, the SOPS key included.
    Extra rules for other resources, or a 2.x chart (another values layout), are not."""

    @staticmethod
    def release(rule: str, version: str = "3.2.2") -> str:
        return (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: kyverno\n"
            "  namespace: flux-system\nspec:\n  interval: 30m\n  targetNamespace: kyverno\n  chart:\n    spec:\n"
            f"      chart: kyverno\n      version: {version}\n"
            "      sourceRef: {kind: HelmRepository, name: kyverno}\n"
            "  values:\n    backgroundController:\n      rbac:\n        clusterRole:\n          extraResources:\n"
            f"            - apiGroups: ['']\n              resources: [{rule}]\n"
            "              verbs: [get, list, watch]\n")

    def repo(self, make_repo: RepoFactory, release: str) -> list[tuple[str, str]]:
        return found(make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "policy/helmrelease.yaml": release}), RBAC, KEY)

    def test_secrets_in_the_extra_rules_are_read_everywhere(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, self.release("secrets")) == [
            (KEY, "policy/helmrelease.yaml"), (RBAC, "policy/helmrelease.yaml")]

    def test_other_extra_rules_or_a_2x_chart_are_not(self, make_repo: RepoFactory) -> None:
        assert self.repo(make_repo, self.release("configmaps")) == []
        assert self.repo(make_repo, self.release("secrets", version="2.7.5")) == []


def test_an_age_identity_is_key_material_wherever_it_stands() -> None:
    """The shared "key material whatever the key says" rule knows age identities (upper case and
    digits, so not "random-looking" by shape): a value under any key name, or a one-line file."""
    identity = "AGE-SECRET-KEY-" + "1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2
    assert is_material(identity)
    assert is_material(f"# created: 2026-01-01T00:00:00Z\n{identity}\n")
    assert not is_material("AGE-SECRET-KEY-1...")
