"""Made-up, minimised reproductions of the false findings and misses of the thirteenth held-out
round (docs/guardrails.md, "Held-out round 13"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

from tests.policy.conftest import RepoFactory, policy
from tests.policy.test_audit_checks import _state
from tests.policy.test_heldout10_rbac import FLUX_SOURCE
from tests.policy.test_heldout12 import AGE
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK

TOKEN = "".join(("cf-", "Zq8vR2mX", "t7LpW3yB", "8NcD4fH1sJ6"))  # made up at run time: the self-scan reads this file


def _record(attribute: str, value: object) -> dict:  # type: ignore[type-arg]
    return {"mode": "managed", "type": "cloudflare_record", "name": "www",
            "instances": [{"attributes": {"id": "r1", attribute: value, "type": "CNAME"},
                           "sensitive_attributes": [[{"type": "get_attr", "value": attribute}]]}]}


class TestTerraformStateTaint:
    """Terraform marks a value sensitive when it was computed from a sensitive input: a DNS
    record's name built from a domain that a SOPS file holds is still a host name."""

    def test_a_host_name_marked_sensitive_is_configuration(self, make_repo: RepoFactory) -> None:
        state = _state([_record("name", "www.example.org"), _record("target", "app.example.org/*")])
        assert policy(make_repo({"dns/terraform.tfstate": state}), "terraform-state-secret") == []

    def test_a_credential_marked_sensitive_is_still_reported(self, make_repo: RepoFactory) -> None:
        state = _state([_record("api_token", "app-example-org")])
        assert policy(make_repo({"dns/terraform.tfstate": state}), "terraform-state-secret") == [
            ("dns/terraform.tfstate", 9)]

    def test_a_random_value_marked_sensitive_is_still_reported(self, make_repo: RepoFactory) -> None:
        state = _state([_record("value", TOKEN)])
        assert policy(make_repo({"dns/terraform.tfstate": state}), "terraform-state-secret") == [
            ("dns/terraform.tfstate", 9)]


class TestSopsDataSourceInState:
    """The sops provider's ``sops_file`` data source keeps the decrypted file in the state
    (``data`` and ``raw``), and older provider versions mark neither sensitive."""

    @staticmethod
    def source(kind: str) -> dict:  # type: ignore[type-arg]
        return {"mode": "data", "type": kind, "name": "secrets",
                "instances": [{"attributes": {"id": "x", "data": {"api_token": TOKEN}, "raw": f"api_token: {TOKEN}\n",
                                              "source_file": "secrets.sops.yaml"}, "sensitive_attributes": []}]}

    def test_a_sops_file_data_source_holds_the_plaintext(self, make_repo: RepoFactory) -> None:
        root = make_repo({"dns/terraform.tfstate": _state([self.source("sops_file")])})
        assert policy(root, "terraform-state-secret") == [("dns/terraform.tfstate", 9)]

    def test_another_data_source_is_not_read(self, make_repo: RepoFactory) -> None:
        root = make_repo({"dns/terraform.tfstate": _state([self.source("cloudflare_zones")])})
        assert policy(root, "terraform-state-secret") == []


def _flux_apps(make_repo: RepoFactory, entry: str, secret_value: str) -> Path:
    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
          "  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n"
          "  sourceRef: {kind: GitRepository, name: flux-system}\n")
    return make_repo({
        **FLUX_SOURCE,
        "clusters/home/apps.yaml": ks,
        "apps/kustomization.yaml": f"resources:\n  - web/\n{entry}",
        "apps/web/kustomization.yaml": "resources:\n  - cm.yaml\n",
        "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
        "apps/harbor/kustomization.yaml": "resources:\n  - admin-secret.yaml\n",
        "apps/harbor/admin-secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: harbor-admin\n  namespace: harbor\n"
            f"stringData:\n  admin-password: {secret_value}\n"
        ),
    })


class TestPlaceholdersInADroppedApp:
    """A Secret of placeholders in an app directory whose own kustomization lists it, while the
    parent (a Flux path) comments the app out: nothing applies it, so the placeholder waits for
    the reader. A real-looking credential there is still in Git."""

    def test_a_placeholder_in_a_commented_out_app_is_not_reported(self, make_repo: RepoFactory) -> None:
        root = _flux_apps(make_repo, "  # - harbor/\n", "dummy-value")
        assert policy(root, "plaintext-secret") == []

    def test_the_same_app_listed_is_applied_as_written(self, make_repo: RepoFactory) -> None:
        root = _flux_apps(make_repo, "  - harbor/\n", "dummy-value")
        assert policy(root, "plaintext-secret") == [("apps/harbor/admin-secret.yaml", 6)]

    def test_a_real_credential_in_the_dropped_app_is_still_reported(self, make_repo: RepoFactory) -> None:
        root = _flux_apps(make_repo, "  # - harbor/\n", TOKEN)
        assert policy(root, "plaintext-secret") == [("apps/harbor/admin-secret.yaml", 6)]


class TestGeneratorFiles:
    """A ``secretGenerator`` file of unknown format: a certificate is public, a one-line message
    of words (an IRC ``motd``) is no credential; a lone token, or words under a file name that
    says password, are."""

    @staticmethod
    def repo(make_repo: RepoFactory, name: str, text: str) -> Path:
        kustomization = f"secretGenerator:\n  - name: app-files\n    files:\n      - {name}\n"
        return make_repo({"app/kustomization.yaml": kustomization, f"app/{name}": text})

    def test_a_ca_certificate_is_public(self, make_repo: RepoFactory) -> None:
        body = "".join(("MIIB", "kTCB+wIJAKHBfpE", "gcF4kMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnRlc3RjYTAeFw0y\n"))
        cert = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
        assert policy(self.repo(make_repo, "prod-ca-2021.crt", cert), "plaintext-secret") == []

    def test_a_message_of_words_is_not_a_credential(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "ircd.motd", "Welcome to the example IRC network, be nice!\n")
        assert policy(root, "plaintext-secret") == []

    def test_a_lone_token_is(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "ircd.motd", f"{TOKEN}\n"), "plaintext-secret") == [
            ("app/ircd.motd", None)]

    def test_words_in_a_password_file_are(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "admin-password.txt", "correct horse battery staple\n")
        assert policy(root, "plaintext-secret") == [("app/admin-password.txt", None)]


def test_a_devenv_home_path_keeps_the_key_outside(make_repo: RepoFactory) -> None:
    devenv = '{ pkgs, ... }:\n{\n  env.SOPS_AGE_KEY_FILE = "${builtins.getEnv "HOME"}/.config/sops/age/keys.txt";\n}\n'
    files = {".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", "devenv.nix": devenv}
    assert policy(make_repo(files, gitignore="*.tfstate\n"), "gitignore-agekey") == []
    inside = devenv.replace('${builtins.getEnv "HOME"}/.config/sops/age/keys.txt', "./cluster.agekey")
    assert policy(make_repo({**files, "devenv.nix": inside}, gitignore="*.tfstate\n"), "gitignore-agekey") == [
        (".gitignore", None)]


class TestSecretNameLists:
    """``prometheusSpec.secrets: [name]`` lists Secrets to mount: names, not credentials."""

    @staticmethod
    def text(item: str) -> str:
        return (f"kind: HelmRelease\nspec:\n  values:\n    password: {ENC}\n    prometheusSpec:\n      secrets:\n"
                f"        - {item}\n" + SOPS_BLOCK + "  encrypted_regex: ^(password)$\n")

    def test_a_list_of_secret_names(self, make_repo: RepoFactory) -> None:
        root = make_repo({"release.sops.yaml": self.text("prometheus-scrape-secret")})
        assert policy(root, "sops-plaintext-value") == []

    def test_a_token_in_the_same_place_is_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({"release.sops.yaml": self.text(TOKEN.replace("-", ""))})
        assert policy(root, "sops-plaintext-value") == [("release.sops.yaml", 7)]
