"""Made-up, minimised reproductions of the misses and false findings of the twenty-second
held-out round (docs/guardrails.md, "Held-out round 22"). Each case comes with a near-identical
one whose verdict must not change."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, KEY, RBAC, SOPS_CONFIG, found, helm_release
from tests.policy.test_heldout20 import ENCRYPTED_SECRET, PROVIDER
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK, ks


class TestDecryptionPatchForAnotherVersion:
    """The root Kustomization patches ``spec.decryption`` into children with a target of
    ``version: v1beta2``; the children are ``kustomize.toolkit.fluxcd.io/v1``. kustomize selects
    by exact group and version, so they get no decryption and apply their SOPS files encrypted."""

    @staticmethod
    def repo(make_repo: RepoFactory, target: str) -> Path:
        patches = ("  patches:\n    - target:\n        kind: Kustomization\n" + target
                   + "      patch: |\n        apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\n"
                   "        kind: Kustomization\n        metadata:\n          name: not-used\n        spec:\n"
                   "          decryption:\n            provider: sops\n            secretRef:\n"
                   "              name: sops-age\n")
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps", extra=patches),
            "apps/kustomization.yaml": "resources:\n  - ./web/ks.yaml\n",
            "apps/web/ks.yaml": ks("web", "./apps/web/app"),
            "apps/web/app/kustomization.yaml": "resources:\n  - ./secret.sops.yaml\n",
            "apps/web/app/secret.sops.yaml": ENCRYPTED_SECRET,
        })

    def test_a_patch_for_v1beta2_leaves_v1_children_without_decryption(self, make_repo: RepoFactory) -> None:
        target = "        group: kustomize.toolkit.fluxcd.io\n        version: v1beta2\n"
        assert flux(self.repo(make_repo, target), PROVIDER) == [("apps/web/ks.yaml", 6)]

    @pytest.mark.parametrize("target", [
        "        group: kustomize.toolkit.fluxcd.io\n        version: v1\n",
        "        group: kustomize.toolkit.fluxcd.io\n",
        "",
    ], ids=["same-version", "group-only", "kind-only"])
    def test_a_patch_that_selects_them_gives_decryption(self, make_repo: RepoFactory, target: str) -> None:
        assert flux(self.repo(make_repo, target), PROVIDER) == []

    def test_another_group_selects_nothing(self, make_repo: RepoFactory) -> None:
        target = "        group: example.invalid\n"
        assert flux(self.repo(make_repo, target), PROVIDER) == [("apps/web/ks.yaml", 6)]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class TestKeyLeftPlainInASopsFile:
    """A Talos secrets file encrypted with ``encrypted_regex: ^(data|stringData)$``: no key
    matches, so its base64'd private keys stay in plaintext under a sops block."""

    KEY_PEM = "-----BEGIN EC " + "PRIVATE KEY-----\n" + "MHcCAQEEI" + "Kd9" * 15 + "\n"

    def test_the_plaintext_key_is_reported(self, make_repo: RepoFactory) -> None:
        text = ("certs:\n  os:\n    crt: " + _b64("-----BEGIN CERTIFICATE-----\nMIIB\n") + "\n    key: "
                + _b64(self.KEY_PEM) + "\n" + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n")
        assert policy(make_repo({"talos/secret.sops.yaml": text}), "private-key") == [("talos/secret.sops.yaml", 4)]

    def test_an_encrypted_key_is_not(self, make_repo: RepoFactory) -> None:
        text = f"certs:\n  os:\n    key: {ENC}\n" + SOPS_BLOCK + "  encrypted_regex: ^(key)$\n"
        assert policy(make_repo({"talos/secret.sops.yaml": text}), "private-key") == []


class TestHeadlampBindsAPreCreatedAccount:
    """Headlamp's chart binds ``cluster-admin`` to the account its ``serviceAccountName`` helper
    names: with ``serviceAccount.create: false`` that is ``serviceAccount.name`` (an account
    committed beside it), or ``default``. The dashboard runs as that account."""

    @staticmethod
    def repo(make_repo: RepoFactory, values: str) -> Path:
        release = helm_release(values, namespace="monitoring", name="headlamp").replace(
            "chart: status-page", "chart: headlamp")
        account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: headlamp\n  namespace: monitoring\n"
        return make_repo({**SOPS_CONFIG, **FLUX_SOURCE, "apps/headlamp/helmrelease.yaml": release,
                          "apps/headlamp/account.yaml": account})

    def test_a_named_pre_created_account_is_bound(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "    serviceAccount:\n      create: false\n      name: headlamp\n")
        assert found(root, RBAC, KEY) == [(KEY, "apps/headlamp/helmrelease.yaml"),
                                          (RBAC, "apps/headlamp/helmrelease.yaml")]

    def test_switching_the_binding_off_still_passes(self, make_repo: RepoFactory) -> None:
        values = ("    serviceAccount:\n      create: false\n      name: headlamp\n"
                  "    clusterRoleBinding:\n      create: false\n")
        assert found(self.repo(make_repo, values), RBAC, KEY) == []


class TestKeyFileNamedThroughAVariable:
    """The repository's tooling names its age key through a variable: mise's
    ``SOPS_AGE_KEY_FILE = "{{config_root}}/.secrets/keys.txt"`` (the project directory), a script's
    ``SOPS_AGE_KEY_FILE="$key"`` with ``key="$repo_root/age.key"``. .gitignore guards both files."""

    MISE = {".mise/config.toml": '[env]\nSOPS_AGE_KEY_FILE = "{{config_root}}/.secrets/keys.txt"\n'}
    SCRIPT = {"scripts/decrypt": '#!/usr/bin/env bash\nrepo_root="$(git rev-parse --show-toplevel)"\n'
                                 'key="$repo_root/age.key"\nSOPS_AGE_KEY_FILE="$key" sops -d x.sops.yaml\n'}

    @pytest.mark.parametrize("tooling", [MISE, SCRIPT, {**MISE, **SCRIPT}], ids=["mise", "script", "both"])
    def test_the_named_file_is_ignored(self, make_repo: RepoFactory, tooling: dict[str, str]) -> None:
        root = make_repo({**SOPS_CONFIG, **tooling, ".gitignore": "/age.key\n/.secrets/\n"})
        assert policy(root, "gitignore-agekey") == []

    @pytest.mark.parametrize("tooling", [MISE, SCRIPT], ids=["mise", "script"])
    def test_a_named_file_nothing_ignores_is_reported(self, make_repo: RepoFactory, tooling: dict[str, str]) -> None:
        root = make_repo({**SOPS_CONFIG, **tooling, ".gitignore": "/kubeconfig\n"})
        assert policy(root, "gitignore-agekey") == [(".gitignore", None)]
