"""One positive and one negative case (at least) per ``policy check`` id, on repos built here."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.policy import POLICY_CHECKS, check_policy
from tests.policy.conftest import (
    AGE_VECTOR,
    AGE_VECTOR_RECIPIENT,
    DOTENV_VECTOR,
    RepoFactory,
    ids,
    policy,
    vector_bytes,
)

PLAIN_SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
stringData:
  password: hunter2-not-encrypted
"""

ENC = "ENC[AES256_GCM,data:Zm9v,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]"


def test_every_check_id_is_unique_and_documented() -> None:
    check_ids = [c.id for c in POLICY_CHECKS]
    assert len(check_ids) == len(set(check_ids))
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guardrails.md").read_text()
    for check in POLICY_CHECKS:
        assert check.title and check.catches and check.fix
        assert f"`{check.id}`" in docs, f"{check.id} missing from docs/guardrails.md"


#: a literal credential for .env fixtures, built so the repository's own scan does not see one
ENV_CREDENTIAL = "DB_PASSWORD=" + "k7Qz" + "-r2Wp" + "-9vLx\n"

class TestPlaintextSecret:
    def test_plaintext_string_data_is_reported_with_line(self, make_repo: RepoFactory) -> None:
        root = make_repo({"apps/db.yaml": "---\nkind: ConfigMap\n" + PLAIN_SECRET})
        assert policy(root, "plaintext-secret") == [("apps/db.yaml", 9)]

    def test_base64_data_is_still_plaintext(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata:\n  k: aHVudGVyMg==\n"}
        )
        assert policy(root, "plaintext-secret") == [("s.yaml", 4)]

    def test_enc_values_and_sops_documents_pass(self, make_repo: RepoFactory) -> None:
        encrypted = (
            PLAIN_SECRET.replace("hunter2-not-encrypted", ENC) + "sops:\n  mac: x\n  lastmodified: y\n"
        )
        empty = "apiVersion: v1\nkind: Secret\nmetadata: {name: e}\ndata: {}\n"
        root = make_repo({"a.yaml": encrypted, "b.yaml": empty, "c.yaml": vector_bytes(AGE_VECTOR)})
        assert policy(root, "plaintext-secret") == []

    def test_secret_generator_literals_and_plaintext_files(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "k/kustomization.yaml": """
                secretGenerator:
                  - name: app
                    literals: [TOKEN=abc123]
                  - name: files
                    files: [creds=creds.txt]
                    envs: [sealed.env]
            """,
                "k/creds.txt": "user:pass\n",
                "k/sealed.env": vector_bytes(DOTENV_VECTOR),
            }
        )
        assert policy(root, "plaintext-secret") == [("k/creds.txt", None), ("k/kustomization.yaml", 3)]


class TestPrivateKey:
    # assembled at run time so that this file does not itself trip the scanners
    PEM = (
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n"
        + "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
        + "\n"
    )

    def test_pem_age_identity_and_agekey_files(self, make_repo: RepoFactory) -> None:
        identity = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2
        root = make_repo(
            {
                "deploy/id": "# key\n" + self.PEM,
                "notes/keys.txt": "# created\n# public key: age1...\n" + identity[:74] + "\n",
                "leak.agekey": "anything\n",
            },
            gitignore="",
        )
        assert policy(root, "private-key") == [("deploy/id", 2), ("leak.agekey", None), ("notes/keys.txt", 3)]

    def test_placeholders_public_keys_and_ignored_keys_pass(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "docs/howto.md": "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n"
                "-----END OPENSSH PRIVATE KEY-----\n",
                "pub.asc": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + "A" * 64 + "\n",
                "prod.agekey": "AGE-SECRET-KEY-1" + "Q" * 58 + "\n",  # git-ignored: the guard works
            }
        )
        assert policy(root, "private-key") == []

    @staticmethod
    def _b64(text: str) -> str:
        import base64

        return base64.b64encode(text.encode()).decode()

    def test_base64_encoded_key_in_a_machine_config_is_reported(self, make_repo: RepoFactory) -> None:
        # a Talos-style machine config: certificate and key as base64'd PEM on one line each
        key = "-----BEGIN ED25519 " + "PRIVATE KEY-----\n" + "MC4CAQAwBQYDK2VwBCIEI" + "Qx7" * 15 + "\n"
        cert = "-----BEGIN CERTIFICATE-----\n" + "MIIBPzCB8qADAgECAhEA" * 3 + "\n"
        root = make_repo(
            {
                "talos/controlplane.yaml": "machine:\n  ca:\n    crt: " + self._b64(cert)
                + "\n    key: " + self._b64(key) + "\n",
                "talos/certs-only.yaml": "cluster:\n  ca:\n    crt: " + self._b64(cert) + "\n",
            },
        )
        report = check_policy(root)
        [violation] = [v for v in report.violations if v.check_id == "private-key"]
        assert (violation.path, violation.line) == ("talos/controlplane.yaml", 4)
        assert "ED25519 PRIVATE KEY block, base64-encoded" in violation.message
        assert "MC4CAQ" not in violation.message

    def test_base64_keys_of_secrets_and_kubeconfigs_are_left_to_their_checks(
        self, make_repo: RepoFactory
    ) -> None:
        key = self._b64("-----BEGIN RSA " + "PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEA" * 4 + "\n")
        root = make_repo(
            {
                "apps/tls.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ndata:\n  tls.key: "
                + key + "\n",
                "kube/admin.yaml": "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
                "    client-key-data: " + key + "\n",
            },
        )
        report = check_policy(root)
        assert [v for v in report.violations if v.check_id == "private-key"] == []
        assert {(v.check_id, v.path) for v in report.violations} >= {
            ("plaintext-secret", "apps/tls.yaml"),
            ("kubeconfig", "kube/admin.yaml"),
        }


class TestKubeconfig:
    KUBECONFIG = """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://k8s"}}]
        users:
          - name: exec-user
            user:
              exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}
          - name: admin
            user:
              token: {token}
    """

    def test_embedded_token_is_reported_on_the_user(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {"ops/kubeconfig": self.KUBECONFIG.replace("{token}", "eyJhbGciOiJSUzI1NiJ9.payload")}
        )
        assert policy(root, "kubeconfig") == [("ops/kubeconfig", 8)]

    def test_exec_only_or_encrypted_kubeconfig_passes(self, make_repo: RepoFactory) -> None:
        root = make_repo({"ops/a.kubeconfig": self.KUBECONFIG.replace("{token}", f"'{ENC}'")})
        assert policy(root, "kubeconfig") == []


class TestCloudCredentials:
    def test_aws_gcp_and_azure_files(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "aws/credentials": "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
                "gcp/sa.json": '{\n  "type": "service_' + 'account",\n'
                '  "private_' + 'key": "-----BEGIN PRIVATE KEY-----\\nMII"\n}\n',
                "azure/sp.json": '{"tenantId": "t", "clientSecret": "s3cr3t-value-here"}\n',
                "home/.azure/msal_token_cache.json": "{}\n",
            }
        )
        assert policy(root, "cloud-credentials") == [
            ("aws/credentials", 3),
            ("azure/sp.json", 1),
            ("gcp/sa.json", 3),
            ("home/.azure/msal_token_cache.json", None),
        ]

    def test_references_and_docs_pass(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "aws/config": "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\n",
                "README.md": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
                "gcp/sa.json": '{"type": "service_account", "client_email": "x@y"}\n',
                "azure/params.json": '{"tenantId": "t", "clientSecret": "${SECRET}"}\n',
            }
        )
        assert policy(root, "cloud-credentials") == []


class TestProductionDotenv:
    def test_plaintext_env_under_production_paths(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "apps/prod/.env": ENV_CREDENTIAL,
                "apps/production/api/app.env": ENV_CREDENTIAL,
                "apps/prod-eu/.env.local": ENV_CREDENTIAL,
            }
        )
        assert policy(root, "production-dotenv") == [
            ("apps/prod-eu/.env.local", None),
            ("apps/prod/.env", None),
            ("apps/production/api/app.env", None),
        ]

    def test_encrypted_examples_and_other_envs_pass(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "apps/prod/.env": vector_bytes(DOTENV_VECTOR),
                "apps/prod/.env.example": "DB=\n",
                "apps/staging/.env": ENV_CREDENTIAL,
            }
        )
        assert policy(root, "production-dotenv") == []

    def test_production_paths_come_from_settings(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                ".sops.yaml": "sopskit:\n  production_paths: ['live/**']\n",
                "live/.env": ENV_CREDENTIAL,
                "apps/prod/.env": ENV_CREDENTIAL,
            }
        )
        assert policy(root, "production-dotenv") == [("live/.env", None)]

    def test_env_files_with_only_references_and_settings_pass(self, make_repo: RepoFactory) -> None:
        """held-out-9: a bootstrap .env of ``op://`` references and a cluster.env of version pins
        under a production path were reported; a file with one literal credential still is."""
        root = make_repo(
            {
                "clusters/prod/bootstrap/.env": "CF_TOKEN=op://infra/cloudflare/token\nGH_TOKEN=${GITHUB_TOKEN}\n",
                "clusters/prod/cluster.env": "KUBERNETES_VERSION=v1.33.1\nTALOS_VERSION=v1.10.3\nTZ=Europe/Paris\n",
                "clusters/prod/app.env": "KUBERNETES_VERSION=v1.33.1\n" + ENV_CREDENTIAL,
            }
        )
        assert policy(root, "production-dotenv") == [("clusters/prod/app.env", None)]


class TestTerraform:
    MAIN_TF = """
        variable "db_password" {
          type    = string
          default = "s3cret-literal"
        }
        variable "api_token" {
          type      = string
          sensitive = true
          default   = ""
        }
        variable "password_length" {
          default = "32"
        }
        variable "admin_password" {
          description = "no default { with braces } here"
          validation {
            condition     = length(var.admin_password) > 8
            error_message = "too short"
          }
        }
        output "db_password" {
          value = random_password.db.result
        }
        output "secret_arn" {
          value = aws_secretsmanager_secret.db.arn
        }
        output "conn" {
          value     = aws_db_instance.main.password
          sensitive = true
        }
        output "endpoint" {
          value = aws_db_instance.main.endpoint
        }
        output "token_out" {
          value = var.api_token
        }
    """

    def test_literal_secret_defaults(self, make_repo: RepoFactory) -> None:
        root = make_repo({"infra/main.tf": self.MAIN_TF})
        assert policy(root, "terraform-secret-default") == [("infra/main.tf", 3)]

    def test_unmarked_secret_outputs(self, make_repo: RepoFactory) -> None:
        root = make_repo({"infra/main.tf": self.MAIN_TF})
        assert policy(root, "terraform-sensitive-output") == [("infra/main.tf", 21), ("infra/main.tf", 34)]

    def test_clean_module_passes(self, make_repo: RepoFactory) -> None:
        root = make_repo({"infra/ok.tf": 'variable "region" {\n  default = "eu-west-1"\n}\n'})
        report = check_policy(root, only=["terraform-secret-default", "terraform-sensitive-output"])
        assert report.ok


class TestExternalSecrets:
    ES = """
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: db, namespace: payments}
        spec:
          secretStoreRef: {name: store, kind: {store_kind}}
          data:
            - secretKey: password
              remoteRef: {key: {key}}
          dataFrom:
            - extract: {key: /payments/shared}
    """

    SETTINGS = "sopskit:\n  externalsecret_prefixes: {'*': ['{namespace}/']}\n  app_namespaces: [pay*]\n"

    def _repo(self, make_repo: RepoFactory, key: str, kind: str = "SecretStore", **extra: str) -> Path:
        files = {
            "apps/es.yaml": self.ES.replace("{key}", key).replace("{store_kind}", kind),
            ".sops.yaml": self.SETTINGS,
        }
        return make_repo({**files, **extra})

    def test_without_settings_both_checks_are_not_applicable(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, "billing/db", kind="ClusterSecretStore", **{".sops.yaml": "creation_rules: []\n"})
        report = check_policy(root)
        status = {s.check_id: s for s in report.statuses}
        for check_id in ("externalsecret-prefix", "clustersecretstore-in-app-namespace"):
            assert status[check_id].status == "not-applicable"
            assert "not set" in status[check_id].reason
        assert not [v for v in report.violations if v.check_id.startswith(("externalsecret", "cluster"))]

    def test_unlisted_namespace_is_not_checked(self, make_repo: RepoFactory) -> None:
        settings = "sopskit:\n  externalsecret_prefixes: {billing: [billing/]}\n  app_namespaces: [billing]\n"
        root = self._repo(make_repo, "other/db", kind="ClusterSecretStore", **{".sops.yaml": settings})
        report = check_policy(root)
        assert report.violations == ()
        status = {s.check_id: s for s in report.statuses}
        assert status["externalsecret-prefix"].status == "nothing-to-check"
        assert status["clustersecretstore-in-app-namespace"].status == "nothing-to-check"

    def test_remote_key_outside_namespace_prefix(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, "billing/db")
        assert policy(root, "externalsecret-prefix") == [("apps/es.yaml", 8)]

    def test_prefix_of_own_namespace_passes(self, make_repo: RepoFactory) -> None:
        assert policy(self._repo(make_repo, "payments/db"), "externalsecret-prefix") == []

    def test_prefixes_come_from_settings_and_kustomize_namespace(self, make_repo: RepoFactory) -> None:
        root = self._repo(
            make_repo,
            "shared/db",
            **{
                ".sops.yaml": "sopskit:\n  externalsecret_prefixes:\n    billing: ['shared/', 'billing/']\n"
                "    '*': ['{namespace}/']\n",
                "apps/kustomization.yaml": "namespace: billing\nresources: [es.yaml]\n",
            },
        )
        # the kustomization moves the ExternalSecret to billing, whose prefixes allow shared/,
        # but not the /payments/ key of dataFrom
        assert policy(root, "externalsecret-prefix") == [("apps/es.yaml", 10)]

    def test_cluster_store_from_application_namespace(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, "payments/db", kind="ClusterSecretStore")
        assert policy(root, "clustersecretstore-in-app-namespace") == [("apps/es.yaml", 5)]

    def test_namespaced_store_or_platform_namespace_passes(self, make_repo: RepoFactory) -> None:
        assert policy(self._repo(make_repo, "payments/db"), "clustersecretstore-in-app-namespace") == []
        root = make_repo(
            {
                "p/es.yaml": self.ES.replace("payments}", "external-secrets}")
                .replace("{store_kind}", "ClusterSecretStore")
                .replace("{key}", "x"),
                ".sops.yaml": "sopskit:\n  app_namespaces: ['*']\n",
            }
        )
        assert policy(root, "clustersecretstore-in-app-namespace") == []


PROD_KEY = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
STAGING_KEY = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"


def _rules(prod: str, staging: str, *, extra: str = "") -> str:
    return (
        "creation_rules:\n"
        f"  - path_regex: ^flux/secrets/prod/\n    age: {prod}\n"
        f"  - path_regex: ^flux/secrets/staging/\n    key_groups:\n      - age: [{staging}]\n"
        f"{extra}"
    )


class TestSharedAgeRecipient:
    def test_recipient_in_two_environments(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                ".sops.yaml": _rules(PROD_KEY, f"{STAGING_KEY}, {PROD_KEY}"),
                "flux/secrets/prod/.keep": "",
                "flux/secrets/staging/.keep": "",
            }
        )
        assert policy(root, "shared-age-recipient") == [(".sops.yaml", 6)]

    def test_distinct_keys_and_catch_all_rule_pass(self, make_repo: RepoFactory) -> None:
        catch_all = f"  - age: {PROD_KEY},{STAGING_KEY}\n"
        root = make_repo({".sops.yaml": _rules(PROD_KEY, STAGING_KEY, extra=catch_all)})
        assert policy(root, "shared-age-recipient") == []


class TestNamespaceRecipientMismatch:
    def test_secret_in_staging_dir_targets_prod_namespace(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                ".sops.yaml": _rules(PROD_KEY, STAGING_KEY),
                "flux/secrets/staging/db.yaml": PLAIN_SECRET,
                "flux/secrets/prod/ok.yaml": PLAIN_SECRET,
                "flux/secrets/staging/own.yaml": PLAIN_SECRET.replace(
                    "namespace: prod", "namespace: staging-apps"
                ),
                "flux/secrets/staging/other.yaml": PLAIN_SECRET.replace(
                    "namespace: prod", "namespace: monitoring"
                ),
            }
        )
        assert policy(root, "namespace-recipient-mismatch") == [("flux/secrets/staging/db.yaml", 5)]

    def test_strict_namespaces_flags_unknown_namespace(self, make_repo: RepoFactory) -> None:
        settings = (
            "sopskit:\n  strict_namespaces: true\n  environments: {staging: {namespaces: [web]}, prod: {}}\n"
        )
        root = make_repo(
            {
                ".sops.yaml": _rules(PROD_KEY, STAGING_KEY) + settings,
                "flux/secrets/staging/a.yaml": PLAIN_SECRET.replace(
                    "namespace: prod", "namespace: monitoring"
                ),
                "flux/secrets/staging/b.yaml": PLAIN_SECRET.replace("namespace: prod", "namespace: web"),
            }
        )
        assert policy(root, "namespace-recipient-mismatch") == [("flux/secrets/staging/a.yaml", 5)]

    def test_file_matched_first_by_another_environments_rule(self, make_repo: RepoFactory) -> None:
        rules = (
            "creation_rules:\n"
            f"  - path_regex: flux/secrets/prod/\n    age: {PROD_KEY}\n"
            f"  - path_regex: flux/secrets/staging/\n    age: {STAGING_KEY}\n"
        )
        root = make_repo(
            {
                ".sops.yaml": rules,
                # the unanchored prod rule also matches this path (and comes first)
                "flux/secrets/staging/flux/secrets/prod/x.yaml": "a: 1\n",
                "flux/secrets/staging/y.yaml": "a: 1\n",
            }
        )
        assert policy(root, "namespace-recipient-mismatch") == [
            ("flux/secrets/staging/flux/secrets/prod/x.yaml", None)
        ]

    def test_encrypted_file_carries_another_environments_recipient(self, make_repo: RepoFactory) -> None:
        sops_file = vector_bytes(AGE_VECTOR)
        root = make_repo(
            {
                ".sops.yaml": _rules(PROD_KEY, AGE_VECTOR_RECIPIENT),
                "flux/secrets/prod/app.yaml": sops_file,
                "flux/secrets/staging/app.yaml": sops_file,
            }
        )
        found = policy(root, "namespace-recipient-mismatch")
        assert [path for path, _ in found] == ["flux/secrets/prod/app.yaml"]
        line = found[0][1]
        assert line is not None
        assert AGE_VECTOR_RECIPIENT in sops_file.decode().splitlines()[line - 1]


class TestGitignoreAgekey:
    AGE_RULES = {".sops.yaml": f"creation_rules:\n  - age: {PROD_KEY}\n", "a.txt": "x\n"}

    @pytest.mark.parametrize("content", ["", "*.pem\n", "*.agekey\n!*.agekey\n", "/*.agekey\n", "secrets/\n"])
    def test_missing_or_ineffective_guard(self, make_repo: RepoFactory, content: str) -> None:
        root = make_repo(self.AGE_RULES, gitignore=content)
        assert policy(root, "gitignore-agekey") == [(".gitignore", None)]

    @pytest.mark.parametrize(
        "content", ["*.agekey\n", "# keys\n**/*.agekey\n", "*.age*\n", "/age.key\n", "*.key\n", "keys.txt\n"]
    )
    def test_effective_guard(self, make_repo: RepoFactory, content: str) -> None:
        root = make_repo(self.AGE_RULES, gitignore=content)
        assert policy(root, "gitignore-agekey") == []

    def test_no_gitignore_file(self, make_repo: RepoFactory) -> None:
        assert policy(make_repo(self.AGE_RULES, gitignore=None), "gitignore-agekey") == [(".gitignore", None)]

    def test_a_repository_without_age_is_not_applicable(self, make_repo: RepoFactory) -> None:
        root = make_repo({"a.txt": "x\n", ".sops.yaml": "creation_rules:\n  - pgp: ABCDEF0123456789\n"}, gitignore="")
        report = check_policy(root, only=["gitignore-agekey"])
        assert report.ok
        assert [(s.check_id, s.status) for s in report.statuses] == [("gitignore-agekey", "not-applicable")]


class TestYamlParseError:
    def test_broken_yaml_is_a_finding_and_other_documents_still_count(self, make_repo: RepoFactory) -> None:
        root = make_repo({"apps/bad.yaml": PLAIN_SECRET + "---\nkey: [unclosed\n"})
        report = check_policy(root)
        assert sorted(ids(report)) == ["plaintext-secret", "yaml-parse-error"]
        assert policy(root, "yaml-parse-error") == [("apps/bad.yaml", 10)]  # the unclosed line

    def test_valid_yaml_unknown_tags_and_helm_templates_pass(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "cfn.yaml": "Resources:\n  B: {Type: x, Properties: {Name: !Ref N}}\n",
                "chart/Chart.yaml": "name: c\n",
                "chart/templates/s.yaml": "{{- if .Values.x }}\nkind: Secret\n{{- end }}\n",
            }
        )
        assert policy(root, "yaml-parse-error") == []


class TestRepoLoadingAndSettings:
    def test_git_ignored_and_excluded_files_are_not_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                ".sops.yaml": "sopskit:\n  exclude: ['fixtures/**']\n"
                "  ignore: {plaintext-secret: ['legacy/*']}\n",
                "fixtures/s.yaml": PLAIN_SECRET,
                "legacy/s.yaml": PLAIN_SECRET,
                "build/s.yaml": PLAIN_SECRET,
                "apps/s.yaml": PLAIN_SECRET,
            },
            gitignore="*.agekey\nbuild/\n",
        )
        assert policy(root, "plaintext-secret") == [("apps/s.yaml", 6)]

    def test_without_git_every_file_is_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo({"build/s.yaml": PLAIN_SECRET}, git=False, gitignore="*.agekey\nbuild/\n")
        assert policy(root, "plaintext-secret") == [("build/s.yaml", 6)]

    def test_disable_in_settings(self, make_repo: RepoFactory) -> None:
        root = make_repo({".sops.yaml": "sopskit:\n  disable: [plaintext-secret]\n", "s.yaml": PLAIN_SECRET})
        report = check_policy(root)
        assert "plaintext-secret" not in [c.id for c in report.checks]
        assert report.ok
