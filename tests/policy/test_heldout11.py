"""Made-up, minimised reproductions of the false findings and misses of the eleventh held-out
round (docs/guardrails.md, "Held-out round 11"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

import base64
from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import SOPS_CONFIG, RepoFactory, encrypted_secret, flux_ks, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, cluster_binding
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK


def _secret(name: str, section: str, body: str) -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{section}:\n{body}"


class TestPlaintextSecretConfiguration:
    def test_an_image_reference_is_configuration(self, make_repo: RepoFactory) -> None:
        image = base64.b64encode(b"registry.example.org/team/app-sidecar:v1.2.3").decode()
        root = make_repo({"image.yaml": _secret("sidecar", "data", f"  APP_IMAGE: {image}\n")})
        assert policy(root, "plaintext-secret") == []

    def test_a_wrapped_base64_value_is_decoded(self, make_repo: RepoFactory) -> None:
        """kustomize wraps long ``data`` values (a ``|`` block); the API server's decoder skips
        the line breaks, and so does the check before it judges the value."""
        image = base64.b64encode(b"ghcr.io/example/plugin-sidecar-with-a-long-name:v0.10.0").decode()
        wrapped = f"  APP_IMAGE: |\n    {image[:40]}\n    {image[40:]}\n"
        assert policy(make_repo({"image.yaml": _secret("sidecar", "data", wrapped)}), "plaintext-secret") == []
        token = base64.b64encode(("k" + "T9vQ2mXr7LpW3zYb8NcD4fH1sJ6gA5eR").encode()).decode()
        wrapped_token = f"  token: |\n    {token[:20]}\n    {token[20:]}\n"
        assert policy(make_repo({"token.yaml": _secret("t", "data", wrapped_token)}), "plaintext-secret") == [
            ("token.yaml", 5)]

    def test_a_colon_pair_is_not_an_image_reference(self, make_repo: RepoFactory) -> None:
        login = ":".join(("operator", "Sup3rS3cret" + "Value"))
        root = make_repo({"pair.yaml": _secret("pair", "stringData", f"  login: '{login}'\n")})
        assert policy(root, "plaintext-secret") == [("pair.yaml", 5)]

    def test_a_templated_url_with_certificate_paths_holds_no_credential(self, make_repo: RepoFactory) -> None:
        url = ("postgresql://${DB_USER:=${APP}}@db-rw.dbms.svc:5432/${APP}?sslmode=verify-full"
               "&sslcert=/var/run/secrets/pg/tls.crt&sslkey=/var/run/secrets/pg/tls.key")
        root = make_repo({"db.yaml": _secret("db", "stringData", f"  url: \"{url}\"\n")})
        assert policy(root, "plaintext-secret") == []

    def test_a_user_name_without_a_password_is_configuration(self, make_repo: RepoFactory) -> None:
        url = "postgresql://app@db-rw.dbms.svc:5432/app?sslmode=verify-full&sslkey=/etc/ssl/pg/tls.key"
        root = make_repo({"db.yaml": _secret("db", "stringData", f"  url: \"{url}\"\n")})
        assert policy(root, "plaintext-secret") == []

    def test_a_templated_url_with_a_literal_password_is_still_reported(self, make_repo: RepoFactory) -> None:
        password = "".join(("hunter", "2", "goes"))  # made up at run time: the self-scan reads this file
        url = f"postgresql://${{DB_USER}}:{password}@db-rw.dbms.svc:5432/${{APP}}"
        root = make_repo({"db.yaml": _secret("db", "stringData", f"  url: \"{url}\"\n")})
        assert policy(root, "plaintext-secret") == [("db.yaml", 5)]


class TestHelmChartFiles:
    """A chart's ``files/`` rendered through ``tpl``: lines of template actions between
    documents are control flow, not YAML."""

    def files(self, body: str) -> dict[str, str]:
        return {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            "chart/templates/boot.yaml": "data: {{- tpl ($.Files.Get \"files/extra.yaml\") $ | nindent 4 }}\n",
            "chart/files/extra.yaml": body,
        }

    def test_action_lines_between_documents_are_not_a_parse_error(self, make_repo: RepoFactory) -> None:
        body = ("{{- if .Values.a }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n{{- end }}\n---\n"
                "{{- if .Values.b }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n{{- end }}\n")
        assert policy(make_repo(self.files(body)), "yaml-parse-error") == []

    def test_yaml_broken_beside_the_actions_is_still_reported(self, make_repo: RepoFactory) -> None:
        body = "{{- if .Values.a }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: [a, b\n{{- end }}\n"
        found = policy(make_repo(self.files(body)), "yaml-parse-error")
        assert [path for path, _ in found] == ["chart/files/extra.yaml"]


def test_a_long_line_of_template_expressions_is_judged_in_linear_time(make_repo: RepoFactory) -> None:
    """Hostile input: 200 expressions then a word on one line. The first action-line pattern
    backtracked exponentially on it (22 expressions: 0.5 s; 30: minutes); the suite's timeout
    fails the test if that comes back. The YAML itself is broken, so it is still reported."""
    line = "{{ .a }}" * 200 + " x"
    files = {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
             "chart/files/extra.yaml": f"key: [a\n{line}\n"}
    assert [path for path, _ in policy(make_repo(files), "yaml-parse-error")] == ["chart/files/extra.yaml"]


class TestSelectionEncryptsNothing:
    def sops_file(self, body: str, option: str) -> str:
        return body + SOPS_BLOCK + f"  {option}\n"

    def test_an_empty_string_data_section_is_selected(self, make_repo: RepoFactory) -> None:
        text = self.sops_file(_secret("vars", "stringData", "  {}\n").replace("stringData:\n  {}", "stringData: {}"),
                              "encrypted_regex: ^(data|stringData)$")
        assert policy(make_repo({"vars.sops.yaml": text}), "sops-selection-encrypts-nothing") == []

    def test_a_file_holding_only_its_kind_has_nothing_to_protect(self, make_repo: RepoFactory) -> None:
        text = self.sops_file("kind: Secret\n", "unencrypted_regex: ^(kind)$")
        assert policy(make_repo({"vars.sops.yaml": text}), "sops-selection-encrypts-nothing") == []

    def test_values_the_rule_leaves_out_are_still_reported(self, make_repo: RepoFactory) -> None:
        text = self.sops_file("kind: Secret\nspec:\n  token: typed-in\n", "unencrypted_regex: ^(kind|spec)$")
        assert policy(make_repo({"vars.sops.yaml": text}), "sops-selection-encrypts-nothing") == [
            ("vars.sops.yaml", None)]

    def test_enc_values_make_it_selecting(self, make_repo: RepoFactory) -> None:
        text = self.sops_file(_secret("v", "stringData", f"  token: {ENC}\n"), "encrypted_regex: ^(data|stringData)$")
        assert policy(make_repo({"vars.sops.yaml": text}), "sops-selection-encrypts-nothing") == []


class TestAgeKeyOutsideTheWorkTree:
    def repo(self, make_repo: RepoFactory, key_path: str) -> Path:
        return make_repo({
            **SOPS_CONFIG,
            "scripts/bootstrap.sh": (
                "#!/usr/bin/env bash\n"
                f"cat {key_path} | kubectl create secret generic sops-age -n flux-system "
                "--from-file=age.agekey=/dev/stdin\n"
            ),
        }, gitignore="*.tfstate\n")

    def test_a_script_reading_the_key_from_home_keeps_it_outside(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "~/.local/cluster.agekey"), "gitignore-agekey") == []

    def test_a_script_reading_it_from_the_work_tree_does_not(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, "./cluster.agekey"), "gitignore-agekey") == [(".gitignore", None)]


def test_a_runner_scale_set_runs_as_its_template_account(make_repo: RepoFactory) -> None:
    """Round 11's CI-runner miss: a GitHub Actions runner scale set's pods run as the account
    its ``template.spec.serviceAccountName`` names, bound here to ``cluster-admin``."""
    release = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: home-ops\n  namespace: runners\n"
        "spec:\n  chart:\n    spec:\n      chart: gha-runner-scale-set\n  values:\n"
        "    template:\n      spec:\n        serviceAccountName: {account}\n"
    )
    for account, expected in (("ci-runner", ["runners/rbac.yaml"]), ("other", [])):
        root = make_repo({
            **SOPS_CONFIG, **FLUX_SOURCE,
            "runners/rbac.yaml": cluster_binding("ci-runner", "cluster-admin", "ci-runner", "runners",
                                                 define_role=False),
            "runners/release.yaml": release.format(account=account),
        })
        found = [v.path for v in check_policy(root, only=["rbac-workload-reads-all-secrets"]).violations]
        assert found == expected, account


class TestSopsOnlyForOtherTools:
    """After round 11 (relabelled findings): SOPS files that serve Terraform or Ansible beside a
    Flux tree that decrypts nothing: Flux uses no key, so ``decryption-key-readable`` does not apply."""

    def files(self, make_repo: RepoFactory, *, reached: bool) -> Path:
        files = {
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": flux_ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources:\n  - rbac.yaml\n" + ("  - secret.sops.yaml\n" if reached else ""),
            "apps/rbac.yaml": cluster_binding("runner", "cluster-admin", "runner", "ci", define_role=False),
            "terraform/secrets.sops.yaml": encrypted_secret("tf"),
        }
        if reached:
            files["apps/secret.sops.yaml"] = encrypted_secret("app")
        return make_repo(files)

    def test_not_applicable_when_only_other_tools_use_sops(self, make_repo: RepoFactory) -> None:
        report = check_policy(self.files(make_repo, reached=False), only=["decryption-key-readable"])
        assert report.violations == ()
        status = next(s for s in report.statuses if s.check_id == "decryption-key-readable")
        assert status.status == "not-applicable"

    def test_reported_when_a_flux_build_reads_a_sops_file(self, make_repo: RepoFactory) -> None:
        report = check_policy(self.files(make_repo, reached=True), only=["decryption-key-readable"])
        assert [v.path for v in report.violations] == ["apps/rbac.yaml"]
