"""Made-up, minimised reproductions of the false findings and misses of the fourteenth held-out
round (docs/guardrails.md, "Held-out round 14"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

from tests.policy.conftest import RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, cluster_binding, helm_release
from tests.policy.test_heldout12 import AGE
from tests.policy.test_realworld_cases import ks


class TestBootstrapKustomizationIsARoot:
    """``flux bootstrap`` applies ``flux-system/flux-system`` itself. When a second Kustomization
    builds the same directory, each builds the other's file; bootstrap's stays the root."""

    @staticmethod
    def repo(make_repo: RepoFactory, bootstrap_name: str) -> Path:
        return make_repo({
            **FLUX_SOURCE,
            "cluster/flux/flux-system/gotk-sync.yaml": ks(bootstrap_name, "./cluster/flux"),
            "cluster/flux/cluster.yaml": ks("cluster", "./cluster/flux"),
            "cluster/flux/apps.yaml": ks("apps", "./cluster/apps"),
            "cluster/apps/kustomization.yaml": "resources:\n  - web/\n",
            "cluster/apps/web/kustomization.yaml": "resources:\n  - cm.yaml\n  - moved-to-archive.yaml\n",
            "cluster/apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        })

    def test_files_below_a_cycle_with_bootstrap_are_checked(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "flux-system")
        assert flux(root, "kustomize-missing-file") == [("cluster/apps/web/kustomization.yaml", 3)]

    def test_a_cycle_without_the_bootstrap_object_still_has_no_root(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, "sync")
        assert flux(root, "kustomize-missing-file") == []


def test_a_trailing_tab_after_a_value_is_white_space(make_repo: RepoFactory) -> None:
    """libyaml, Go's YAML and Ansible read ``state: drain<TAB>`` as trailing white space; PyYAML's
    pure-Python scanner alone refuses it."""
    play = "- hosts: all\n  tasks:\n    - name: drain\n      kubernetes.core.k8s_drain:\n        state: drain\t\n"
    assert policy(make_repo({"ansible/drain.yaml": play}), "yaml-parse-error") == []
    broken = play.replace("state: drain\t\n", "state: [drain\n")
    assert policy(make_repo({"ansible/drain.yaml": broken}), "yaml-parse-error") == [("ansible/drain.yaml", 6)]


def test_a_component_service_account_name_runs_the_release(make_repo: RepoFactory) -> None:
    """gitlab-runner names its account under ``rbac.serviceAccountName`` and
    ``runners.serviceAccountName``."""
    values = "    rbac:\n      create: false\n      serviceAccountName: runner\n"
    binding = cluster_binding("runner-admin", "cluster-admin", "runner", "monitoring", define_role=False)
    root = make_repo({"app/release.yaml": helm_release(values), "app/rbac.yaml": binding})
    assert policy(root, "rbac-workload-reads-all-secrets") == [("app/rbac.yaml", 1)]
    other = make_repo({"app/release.yaml": helm_release(values.replace("runner\n", "other\n")),
                       "app/rbac.yaml": binding})
    assert policy(other, "rbac-workload-reads-all-secrets") == []


def test_a_default_that_names_its_kind_is_a_label(make_repo: RepoFactory) -> None:
    tf = ('variable "proxmox_token_secret" {\n  type = string\n  default = "api_token"\n}\n'
          'variable "sudo_password" {\n  default = "password"\n}\n')
    assert policy(make_repo({"terraform/providers.tf": tf}), "terraform-secret-default") == []
    real = tf.replace('"password"', '"' + "".join(("Tr0ub4", "dor&3x")) + '"')
    assert policy(make_repo({"terraform/providers.tf": real}), "terraform-secret-default") == [
        ("terraform/providers.tf", 6)]


class TestAnsibleKeyPath:
    """An Ansible task's ``environment: {SOPS_AGE_KEY_FILE: "{{ base_dir }}/keys/age.key"}`` with
    the playbook's ``base_dir: /opt/k8s``: the key lives outside the checkout."""

    @staticmethod
    def repo(make_repo: RepoFactory, base_dir: str) -> Path:
        play = (f"- hosts: all\n  vars:\n    base_dir: \"{base_dir}\"\n  tasks:\n    - name: decrypt\n"
                "      environment:\n        SOPS_AGE_KEY_FILE: \"{{ base_dir }}/keys/age.key\"\n"
                "      ansible.builtin.command: sops -d secret.sops.yaml\n")
        return make_repo({".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", "ansible/bootstrap.yml": play},
                         gitignore=None)

    def test_an_absolute_base_dir_is_outside(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "/opt/k8s"), "gitignore-agekey") == []

    def test_a_relative_base_dir_is_inside(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "./work"), "gitignore-agekey") == [(".gitignore", None)]
