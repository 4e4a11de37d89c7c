"""Made-up, minimised reproductions of the false findings and misses of the fifteenth held-out
round (docs/guardrails.md, "Held-out round 15"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from tests.policy.conftest import RepoFactory, flux, policy

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
