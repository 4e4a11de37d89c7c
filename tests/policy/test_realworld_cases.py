"""Made-up, minimised reproductions of what the guardrails got wrong on public GitOps repositories
(bench/realworld.py): each false positive and each miss becomes one case here."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

from sopskit.policy import check_policy, validate_flux
from tests.policy.conftest import (
    AGE_VECTOR,
    AGE_VECTOR_RECIPIENT,
    RepoFactory,
    encrypted_secret,
    flux,
    policy,
    vector_bytes,
)

ENC = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]"
SOPS_BLOCK = (
    "sops:\n"
    "  age:\n    - recipient: age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw\n"
    "      enc: x\n"
    "  lastmodified: '2024-01-01T00:00:00Z'\n"
    "  mac: ENC[AES256_GCM,data:bWFj,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]\n"
    "  version: 3.8.1\n"
)


def ks(name: str, path: str, source: str = "kind: GitRepository\n    name: flux-system", extra: str = "") -> str:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  sourceRef:\n    {source}\n{extra}"
    )


def statuses(report: object) -> dict[str, object]:
    return {s.check_id: s for s in report.statuses}  # type: ignore[attr-defined]


class TestFluxSources:
    def test_oci_and_external_artifact_sources_are_not_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "clusters/flux.yaml": ks("flux", "./", "kind: OCIRepository\n    name: flux-manifests")
                + "---\n"
                + ks("apps", "./production", "kind: ExternalArtifact\n    name: apps"),
                "secret.sops.yaml": vector_bytes(AGE_VECTOR),
            }
        )
        report = validate_flux(root)
        assert report.ok, report.violations
        notes = statuses(report)["flux-path-missing"].notes  # type: ignore[attr-defined]
        assert any("OCIRepository flux-system/flux-manifests" in n for n in notes)
        assert any("ExternalArtifact flux-system/apps" in n for n in notes)

    def test_another_git_repository_is_not_checked_but_this_one_is(self, make_repo: RepoFactory) -> None:
        upstream = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata:\n  name: upstream\n  namespace: flux-system\n"
            "spec:\n  url: https://example.invalid/vendor/manifests\n"
        )
        root = make_repo(
            {
                "clusters/sources.yaml": upstream,
                "clusters/ks.yaml": ks("vendor", "./manifests/install", "kind: GitRepository\n    name: upstream")
                + "---\n"
                + ks("apps", "./apps/missing"),
            }
        )
        assert flux(root, "flux-path-missing") == [("clusters/ks.yaml", 20)]

    def test_an_example_for_another_repository_is_not_checked(self, make_repo: RepoFactory) -> None:
        # a platform repository shipping an example of the overlay repository its users write
        root = make_repo(
            {
                "examples/overlays/dev/fluxcd/apps.yaml": ks("apps", "./applications/overlays/dev/apps"),
                "clusters/prod/apps.yaml": ks("prod", "./applications/overlays/prod"),
            }
        )
        assert flux(root, "flux-path-missing") == [("clusters/prod/apps.yaml", 8)]
        notes = statuses(validate_flux(root))["flux-path-missing"].notes  # type: ignore[attr-defined]
        assert any("Kustomization flux-system/apps" in n and "an example" in n for n in notes)
        # nor are the example's kustomization files, which list what the reader's repository has
        example = make_repo({"examples/overlays/dev/kustomization.yaml": "resources:\n  - ./flux-system\n"})
        assert flux(example, "kustomize-missing-file") == []
        plain = make_repo({"overlays/dev/kustomization.yaml": "resources:\n  - ./flux-system\n"})
        # (the same directory: clusters/prod's missing Flux path builds nothing, so nothing is checked)
        assert flux(plain, "kustomize-missing-file") == []
        shutil.rmtree(plain / "clusters")
        shutil.rmtree(plain / "examples")  # a plain kustomize repository: every kustomization is checked
        assert flux(plain, "kustomize-missing-file") == [("overlays/dev/kustomization.yaml", 2)]

    def test_a_git_repository_with_this_url_but_another_branch_is_not_this_checkout(
        self, make_repo: RepoFactory
    ) -> None:
        source = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata:\n  name: team\n  namespace: apps\n"
            "spec:\n  url: https://example.invalid/org/fleet\n  ref:\n    branch: team-branch\n"
        )
        root = make_repo(
            {
                "tenants/team.yaml": source
                + "---\n"
                + ks("team", "./team", "kind: GitRepository\n    name: team").replace(
                    "namespace: flux-system", "namespace: apps"
                )
            }
        )
        subprocess.run(["git", "-C", str(root), "checkout", "-q", "-b", "main"], check=True)
        subprocess.run(
            ["git", "-C", str(root), "remote", "add", "origin", "git@example.invalid:org/fleet.git"], check=True
        )
        assert flux(root, "flux-path-missing") == []
        same_branch = source.replace("team-branch", "main")
        (root / "tenants/team.yaml").write_text(
            same_branch
            + "---\n"
            + ks("team", "./team", "kind: GitRepository\n    name: team").replace(
                "namespace: flux-system", "namespace: apps"
            )
        )
        assert [p for p, _ in flux(root, "flux-path-missing")] == ["tenants/team.yaml"]

    def test_a_kustomization_used_as_a_patch_is_not_a_resource(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "tenants/prod/kustomization.yaml": "resources: [../base]\npatches:\n  - path: team-patch.yaml\n",
                "tenants/prod/team-patch.yaml": (
                    "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
                    "metadata:\n  name: team\n  namespace: apps\nspec:\n  path: ./production\n"
                ),
                "tenants/base/kustomization.yaml": "resources: []\n",
            }
        )
        assert flux(root, "flux-path-missing") == []

    def test_templated_path_is_not_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo({"ks.yaml": ks("app", "./apps/${CLUSTER}")})
        assert flux(root, "flux-path-missing") == []


class TestLiveTree:
    def test_archived_kustomizations_and_kustomize_files_are_not_checked(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "clusters/main/flux-system/kustomization.yaml": "resources: [sync.yaml]\n",
                "clusters/main/flux-system/sync.yaml": ks("flux-system", "./clusters/main"),
                "clusters/main/apps.yaml": ks("apps", "./apps"),
                "apps/kustomization.yaml": "resources: [app.yaml]\n",
                "apps/app.yaml": "kind: ConfigMap\n",
                ".archive/old/ks.yaml": ks("old", "./apps/old-app"),
                ".archive/old/app/kustomization.yaml": "resources: [../../../templates/gone]\n",
                "apps/broken/kustomization.yaml": "resources: [missing.yaml]\n",
            }
        )
        assert flux(root, "flux-path-missing") == []
        assert flux(root, "kustomize-missing-file") == []  # apps/broken is not built either
        (root / "apps/kustomization.yaml").write_text("resources: [app.yaml, broken]\n")
        assert flux(root, "kustomize-missing-file") == [("apps/broken/kustomization.yaml", 1)]


class TestDecryptionWiring:
    DECRYPTION_BLOCK = "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    PARENT_PATCH = (
        "  patches:\n    - patch: |-\n        apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
        "        kind: Kustomization\n        metadata:\n          name: not-used\n"
        "        spec:\n          decryption:\n            provider: sops\n"
        "            secretRef:\n              name: sops-age\n"
        "      target:\n        group: kustomize.toolkit.fluxcd.io\n        kind: Kustomization\n"
    )

    def _repo(self, make_repo: RepoFactory, parent_extra: str, files: dict[str, str | bytes] | None = None) -> Path:
        tree: dict[str, str | bytes] = {
            "clusters/apps.yaml": ks("cluster-apps", "./apps", extra=parent_extra),
            "apps/kustomization.yaml": "resources: [db/ks.yaml]\n",
            "apps/db/ks.yaml": ks("db", "./apps/db/app"),
            "apps/db/app/kustomization.yaml": "resources: [secret.sops.yaml]\n",
            "apps/db/app/secret.sops.yaml": vector_bytes(AGE_VECTOR),
        }
        tree.update(files or {})
        return make_repo(tree)

    def test_decryption_patched_in_by_the_parent_counts(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, self.PARENT_PATCH)
        assert validate_flux(root, only=["flux-decryption-provider", "flux-decryption-secretref"]).ok

    def test_without_the_parent_patch_it_is_missing(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, "")
        assert flux(root, "flux-decryption-provider") == [("apps/db/ks.yaml", 6)]

    def test_global_decryption_flag_of_the_controller_counts(self, make_repo: RepoFactory) -> None:
        controller_patch = (
            "resources: [gotk-components.yaml]\npatches:\n  - patch: |\n"
            "      - op: add\n        path: /spec/template/spec/containers/0/args/-\n"
            "        value: --sops-age-secret=sops-age\n"
            "    target: {kind: Deployment, name: kustomize-controller}\n"
        )
        root = self._repo(make_repo, "", {"clusters/flux-system/kustomization.yaml": controller_patch})
        assert flux(root, "flux-decryption-provider") == []
        report = validate_flux(root, only=["flux-decryption-secretref"])
        assert report.ok
        assert any("global flags" in n for n in report.statuses[0].notes)

    def test_global_decryption_setting_overrides_detection(self, make_repo: RepoFactory) -> None:
        root = self._repo(make_repo, "", {".sops.yaml": "sopskit:\n  flux_global_decryption: true\n"})
        assert flux(root, "flux-decryption-provider") == []
        root2 = self._repo(
            make_repo,
            "",
            {
                ".sops.yaml": "sopskit:\n  flux_global_decryption: false\n",
                "clusters/controller.yaml": "args: [--sops-age-secret=sops-age]\n",
            },
        )
        assert flux(root2, "flux-decryption-provider") == [("apps/db/ks.yaml", 6)]


def test_remote_urls_in_generators_are_not_files(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "dash/kustomization.yaml": (
                "configMapGenerator:\n  - name: dashboards\n    files:\n"
                "      - https://raw.githubusercontent.example.invalid/o/r/main/cluster.json\n"
                "      - local.json\n"
            ),
        }
    )
    assert flux(root, "kustomize-missing-file") == [("dash/kustomization.yaml", 2)]


def test_a_repeated_anchor_name_is_valid_yaml(make_repo: RepoFactory) -> None:
    root = make_repo({"values.yaml": "a: &probe {path: /live}\nb: *probe\nc: &probe {path: /ready}\nd: *probe\n"})
    assert policy(root, "yaml-parse-error") == []


class TestPlaintextSecretValues:
    def _secret(self, section: str, body: str) -> str:
        return f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: apps}}\n{section}:\n{body}"

    def test_references_and_templates_are_not_plaintext(self, make_repo: RepoFactory) -> None:
        body = (
            '  a: "${DB_PASSWORD}"\n  b: op://vault/db/password\n  c: "{{ .Values.password }}"\n'
            '  d: "{% raw %}{{ x }}{% endraw %}"\n  e: "postgres://${USER}:${PASS}@db.${DOMAIN}:5432/app"\n'
        )
        root = make_repo({"s.yaml": self._secret("stringData", body)})
        assert policy(root, "plaintext-secret") == []

    def test_base64_of_a_reference_is_not_plaintext_but_a_literal_is(self, make_repo: RepoFactory) -> None:
        # base64("${TOKEN}") and base64("hunter2-literal")
        literal = base64.b64encode(b"hunter2-" + b"literal").decode()
        root = make_repo({"s.yaml": self._secret("data", f"  a: JHtUT0tFTn0=\n  password: {literal}\n")})
        report = check_policy(root, only=["plaintext-secret"])
        assert [v.message.rsplit("keys: ", 1)[1] for v in report.violations] == ["password)"]

    def test_config_values_beside_referenced_credentials_are_not_secrets(self, make_repo: RepoFactory) -> None:
        body = (
            '  username: "postgres"\n  password: "${PG_PASSWORD}"\n  INIT_POSTGRES_HOST: pg.db.svc\n'
            '  ice: |-\n    [{"urls": ["stun:stun.example.invalid:19302"]}]\n'
        )
        assert policy(make_repo({"s.yaml": self._secret("stringData", body)}), "plaintext-secret") == []
        # a credential-looking key, or key material, still counts beside references
        leaky = body + "  api_key: literal-0123\n  dsn: postgres://app" + ":s3cr3t@db/app\n"
        report = check_policy(make_repo({"s.yaml": self._secret("stringData", leaky)}), only=["plaintext-secret"])
        assert [v.message.rsplit("keys: ", 1)[1] for v in report.violations] == ["api_key, dsn)"]
        # without any reference, a value that is not shaped like configuration is the author's secret
        plain = '  username: "admin"\n  host: db\n  admin: hunter2\n'
        report = check_policy(make_repo({"s.yaml": self._secret("stringData", plain)}), only=["plaintext-secret"])
        assert [v.message.rsplit("keys: ", 1)[1] for v in report.violations] == ["admin)"]

    def test_flux_variables_kept_in_a_secret_are_not_secrets(self, make_repo: RepoFactory) -> None:
        # a postBuild substituteFrom Secret holding only configuration: domains, an issuer, a count
        body = '  dns_suffix: "example.org"\n  cluster_issuer: "letsencrypt-production"\n  agent_count: "1"\n'
        assert policy(make_repo({"s.yaml": self._secret("stringData", body)}), "plaintext-secret") == []
        # a value that is not shaped like configuration counts, placeholder or not: it is applied as written
        leaky = body + '  CRYPTO_KEY_VALUE: "Your encryption passphrase"\n'
        report = check_policy(make_repo({"s.yaml": self._secret("stringData", leaky)}), only=["plaintext-secret"])
        assert [v.message.rsplit("keys: ", 1)[1] for v in report.violations] == ["CRYPTO_KEY_VALUE)"]

    def test_a_helm_values_file_in_a_secret_generator_counts_only_with_a_credential(
        self, make_repo: RepoFactory
    ) -> None:
        kustomization = (
            "secretGenerator:\n  - name: chart-values\n    files:\n      - values.yaml=helm-values/values.yaml\n"
            "  - name: app-env\n    envs:\n      - app.env\n"
        )
        values = (
            "# Default values for the chart.\n"
            "# password: changeme\n"
            "imagePullSecrets: []\n"
            "tls:\n  secretName: chart-tls\n  existingSecret: \"\"\n"
            "auth:\n  passwordFile: /etc/app/password\n  tokenPath: /var/run/token\n"
            "tolerations:\n  - key: node-role\n    operator: Exists\n"
            "admin:\n  password: your-password-here\n  tokenSecret: admin-token\n"
            "minio:\n  users:\n    - accessKey: logs-user\n      secretKey: supersecretpassword\n"
            "config:\n  processors:\n    - key: host.name\n"
        )
        env = "# APP_PASSWORD=\nLOG_LEVEL=debug\nPUBLIC_URL=https://app.example.org\n"
        files = {"kustomization.yaml": kustomization, "helm-values/values.yaml": values, "app.env": env}
        assert policy(make_repo(files), "plaintext-secret") == []
        made_up = "Tr0ub4dor" + "-and-3"  # split: the repository's own scan must not see a value
        leaky = {**files, "helm-values/values.yaml": values + f"smtp:\n  password: {made_up}\n",
                 "app.env": env + f"APP_PASSWORD={made_up}\n"}
        expected = [("app.env", None), ("helm-values/values.yaml", None)]
        assert sorted(policy(make_repo(leaky), "plaintext-secret")) == expected

    def test_a_password_next_to_a_variable_is_still_plaintext(self, make_repo: RepoFactory) -> None:
        url = "postgres://app" + ":s3cr3t@db.${DOMAIN}/app"
        root = make_repo({"s.yaml": self._secret("stringData", f'  url: "{url}"\n')})
        assert policy(root, "plaintext-secret") == [("s.yaml", 4)]

    def test_a_config_file_without_credentials_is_not_a_secret(self, make_repo: RepoFactory) -> None:
        scrape = "  extra.yaml: |\n    - job_name: nodes\n      static_configs:\n        - targets: [10.0.0.1:9100]\n"
        with_password = scrape + "      basic_auth: {username: a, password: hunter22}\n"
        assert policy(make_repo({"s.yaml": self._secret("stringData", scrape)}), "plaintext-secret") == []
        root = make_repo({"t.yaml": self._secret("stringData", with_password)})
        assert policy(root, "plaintext-secret") == [("t.yaml", 4)]


class TestSopsFiles:
    def test_plaintext_value_added_beside_enc_values(self, make_repo: RepoFactory) -> None:
        text = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
            f"  password: {ENC}\n  api_token: typed-in-by-hand\n"
            + SOPS_BLOCK
            + "  encrypted_regex: ^(data|stringData)$\n"
        )
        root = make_repo({"db.sops.yaml": text})
        assert policy(root, "sops-plaintext-value") == [("db.sops.yaml", 7)]
        assert policy(root, "sops-selection-encrypts-nothing") == []

    def test_unselected_values_may_stay_plain(self, make_repo: RepoFactory) -> None:
        text = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
            f"  password: {ENC}\n" + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
        )
        assert policy(make_repo({"db.sops.yaml": text}), "sops-plaintext-value") == []

    def test_default_suffix_rule_applies_when_none_is_stored(self, make_repo: RepoFactory) -> None:
        text = f"password: {ENC}\nhost_unencrypted: db.local\nport: 5432\n" + SOPS_BLOCK
        assert policy(make_repo({"app.sops.yaml": text}), "sops-plaintext-value") == [("app.sops.yaml", 3)]

    def test_a_rule_that_selects_nothing(self, make_repo: RepoFactory) -> None:
        text = (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n"
            "spec:\n  values:\n    adminPassword"
            + ": plain-but-looks-encrypted\n"
            + SOPS_BLOCK
            + "  encrypted_regex: ^(data|stringData)$\n"
        )
        root = make_repo({"app/helmrelease.sops.yaml": text})
        assert policy(root, "sops-selection-encrypts-nothing") == [("app/helmrelease.sops.yaml", None)]
        assert policy(root, "sops-plaintext-value") == []

    @staticmethod
    def _talos_like(selection: str) -> str:
        """A made-up talhelper-style secrets file: the rule's anchors miss two credential keys."""
        token = "".join(chr(97 + (i * 7) % 26) for i in range(23))
        return (
            f"cluster:\n  id: {ENC}\n  secret: {ENC}\nsecrets:\n  bootstraptoken: {token[:6]}.{token[7:]}\n"
            f"  boxsecret: {token.upper()}Qz9\ntrustdinfo:\n  token: {ENC}\n"
            "  client_id: 1234567890\n  ssh_public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDo made-up\n"
            + SOPS_BLOCK + f"  {selection}\n"
        )

    def test_a_credential_the_selection_leaves_out(self, make_repo: RepoFactory) -> None:
        """``encrypted_regex: ^(token|secret|id)$`` encrypts ``token`` but, anchored, not
        ``bootstraptoken``: a credential pushed in plaintext beside encrypted values. Identifiers
        and public keys left out beside them are not credentials."""
        root = make_repo({"talsecret.sops.yaml": self._talos_like("encrypted_regex: ^(token|secret|id)$")})
        assert policy(root, "sops-plaintext-value") == [("talsecret.sops.yaml", 5), ("talsecret.sops.yaml", 6)]
        report = check_policy(root, only=["sops-plaintext-value"])
        assert "encrypts other values but not this one" in report.violations[0].message

    def test_a_key_left_out_on_purpose_is_not_reported(self, make_repo: RepoFactory) -> None:
        """``unencrypted_regex`` names what stays plain: a decision, not an oversight; and a file
        whose selection encrypts nothing is the other check's finding."""
        root = make_repo({"talsecret.sops.yaml": self._talos_like("unencrypted_regex: ^(bootstraptoken|boxsecret|"
                                                                  "client_id|ssh_public_key)$")})
        assert policy(root, "sops-plaintext-value") == []
        nothing = "secrets:\n  bootstraptoken: abcdef.0123456789abcdef\n" + SOPS_BLOCK + "  encrypted_regex: ^data$\n"
        assert policy(make_repo({"t.sops.yaml": nothing}), "sops-plaintext-value") == []

    def test_comment_rules_are_not_judged(self, make_repo: RepoFactory) -> None:
        text = f"password: {ENC}\nother: plain\n" + SOPS_BLOCK + "  encrypted_comment_regex: sops:enc\n"
        root = make_repo({"c.sops.yaml": text})
        report = check_policy(root, only=["sops-plaintext-value"])
        assert report.ok
        assert any("comment regex" in n for n in report.statuses[0].notes)


def test_an_unloadable_sops_yaml_is_a_warning_and_the_run_goes_on(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            ".sops.yaml": (
                "creation_rules:\n  - path_regex: '(unclosed'\n    age: age1x\nsopskit:\n  app_namespaces: [x]\n"
            ),
            "s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter22}\n",
        }
    )
    report = check_policy(root)
    assert report.warnings and "creation-rule checks ran without rules" in report.warnings[0]
    assert ("s.yaml", 4) in [(v.path, v.line) for v in report.violations if v.check_id == "plaintext-secret"]
    # the sopskit: settings were still read
    assert {s.check_id: s.status for s in report.statuses}["clustersecretstore-in-app-namespace"] == "nothing-to-check"


class TestGitignoreTooling:
    RULES = ".sops.yaml"
    AGE = "creation_rules:\n  - age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"

    def test_key_kept_outside_the_work_tree_is_not_applicable(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {self.RULES: self.AGE, ".envrc": "export SOPS_AGE_KEY_FILE=$(expand_path ~/.config/sops/age/keys.txt)\n"},
            gitignore="",
        )
        report = check_policy(root, only=["gitignore-agekey"])
        assert report.ok and report.statuses[0].status == "not-applicable"

    def test_key_inside_the_work_tree_must_be_ignored_by_its_name(self, make_repo: RepoFactory) -> None:
        mise = '[env]\nSOPS_AGE_KEY_FILE = "{{config_root}}/cluster.agekey.txt"\n'
        root = make_repo({self.RULES: self.AGE, ".mise.toml": mise}, gitignore="age.key\n")
        assert policy(root, "gitignore-agekey") == [(".gitignore", None)]
        root2 = make_repo({self.RULES: self.AGE, ".mise.toml": mise}, gitignore="/cluster.agekey.txt\n")
        assert policy(root2, "gitignore-agekey") == []

    def test_a_script_keeping_the_key_in_the_work_tree_by_pwd(self, make_repo: RepoFactory) -> None:
        script = "#!/bin/bash\nexport SOPS_AGE_KEY_FILE=$(pwd)/key.txt\nhelm secrets upgrade app chart\n"
        root = make_repo({self.RULES: self.AGE, "install.sh": script}, gitignore="/key.txt\n")
        assert policy(root, "gitignore-agekey") == []
        root2 = make_repo({self.RULES: self.AGE, "install.sh": script}, gitignore="/.idea/\n")
        assert policy(root2, "gitignore-agekey") == [(".gitignore", None)]


# -- round 2: what the first held-out repositories showed ------------------------------------


def test_empty_strings_stay_plain_in_sops_files(make_repo: RepoFactory) -> None:
    # sops aes/cipher.go: Encrypt returns "" for an empty value, so "" next to ENC[...] is normal
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
        f'  token: {ENC}\n  optional_origin: ""\n' + SOPS_BLOCK + "  encrypted_regex: ^(data|stringData)$\n"
    )
    root = make_repo({"app.sops.yaml": text})
    assert policy(root, "sops-plaintext-value") == []
    only_empty = text.replace(f"  token: {ENC}\n", '  token: ""\n')
    root2 = make_repo({"app.sops.yaml": only_empty})
    assert policy(root2, "sops-selection-encrypts-nothing") == []


def test_bootstrap_kustomization_patch_wires_decryption_of_flux_system(make_repo: RepoFactory) -> None:
    patch = (
        "resources: [gotk-sync.yaml]\npatches:\n  - patch: |\n"
        "      apiVersion: kustomize.toolkit.fluxcd.io/v1\n      kind: Kustomization\n"
        "      metadata:\n        name: flux-system\n        namespace: flux-system\n"
        "      spec:\n        decryption:\n          provider: sops\n          secretRef:\n            name: sops-gpg\n"
        "    target:\n      kind: Kustomization\n      name: flux-system\n"
    )
    tree: dict[str, str | bytes] = {
        "clusters/c0/flux-system/kustomization.yaml": patch,
        "clusters/c0/flux-system/gotk-sync.yaml": ks("flux-system", "./clusters/c0"),
        "clusters/c0/secrets/cluster-secrets.enc.yaml": vector_bytes(AGE_VECTOR),
    }
    assert flux(make_repo(tree), "flux-decryption-provider") == []
    # the same patch aimed at another Kustomization name wires nothing for flux-system
    tree["clusters/c0/flux-system/kustomization.yaml"] = patch.replace("name: flux-system\n", "name: apps\n")
    root = make_repo(tree)
    assert flux(root, "flux-decryption-provider") == [("clusters/c0/flux-system/gotk-sync.yaml", 6)]


def test_bootstrap_patch_from_a_file_counts_too(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "c/flux-system/kustomization.yaml": "resources: [sync.yaml]\npatchesStrategicMerge: [decrypt.yaml]\n",
            "c/flux-system/decrypt.yaml": (
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
                "metadata: {name: flux-system, namespace: flux-system}\n"
                "spec:\n  decryption: {provider: sops, secretRef: {name: sops-age}}\n"
            ),
            "c/flux-system/sync.yaml": ks("flux-system", "./c"),
            "c/secret.enc.yaml": vector_bytes(AGE_VECTOR),
        }
    )
    assert flux(root, "flux-decryption-secretref") == []


def test_templates_and_generator_inputs_are_not_yaml_errors(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "app/kustomization.yaml": "configMapGenerator:\n  - name: cfg\n    files: [configs/raw.yaml]\n",
            "app/configs/raw.yaml": "key: [not closed\n",
            "app/configs/tpl.yaml": "server:\n  apiToken: {{ .API_TOKEN }}\n",
            "app/broken.yaml": "a: b\n  c: d\n",
        }
    )
    assert policy(root, "yaml-parse-error") == [("app/broken.yaml", 2)]


def test_a_placeholder_is_not_a_secret(make_repo: RepoFactory) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: gh}\n"
        "stringData:\n  username: <github_username>\n  token: <github_token>\n"
    )
    assert policy(make_repo({"gh.yaml": secret}), "plaintext-secret") == []


def test_terraform_durations_named_like_tokens_are_not_secrets(make_repo: RepoFactory) -> None:
    tf = (
        'variable "access_token_validity" {\n  default = "minutes=10"\n}\n'
        'variable "api_token" {\n  default = "abc123-literal"\n}\n'
    )
    assert policy(make_repo({"main.tf": tf}), "terraform-secret-default") == [("main.tf", 5)]


def test_a_config_file_whose_credentials_are_references_is_not_plaintext(make_repo: RepoFactory) -> None:
    body = (
        "  extra.yaml: |\n    - job_name: printer\n      params:\n"
        '        apikey: ["${SECRET_PRINTER_APIKEY}"]\n      static_configs: [{targets: [printer:80]}]\n'
    )
    secret = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n{body}"
    assert policy(make_repo({"s.yaml": secret}), "plaintext-secret") == []
    literal = secret.replace('["${SECRET_PRINTER_APIKEY}"]', "[0123456789abcdef]")
    assert policy(make_repo({"s.yaml": literal}), "plaintext-secret") == [("s.yaml", 4)]


def test_generated_kustomization_takes_a_subdirectory_kustomization_as_one_resource(make_repo: RepoFactory) -> None:
    # Flux generates a kustomization for ./apps (no kustomization.yaml there); apps/monitoring has
    # its own, which leaves exporters/ks.yaml out (commented): that Kustomization is not deployed
    root = make_repo(
        {
            "clusters/main/flux-system/kustomization.yaml": "resources: [sync.yaml, apps.yaml]\n",
            "clusters/main/flux-system/sync.yaml": ks("flux-system", "./clusters/main"),
            "clusters/main/flux-system/apps.yaml": ks("apps", "./apps"),
            "apps/monitoring/kustomization.yaml": "resources:\n  - ./grafana/ks.yaml\n  # - ./exporters/ks.yaml\n",
            "apps/monitoring/grafana/ks.yaml": ks("grafana", "./apps/monitoring/grafana/app"),
            "apps/monitoring/grafana/app/kustomization.yaml": "resources: []\n",
            "apps/monitoring/exporters/ks.yaml": ks("exporters", "./apps/monitoring/exporters/app"),
        }
    )
    assert flux(root, "flux-path-missing") == []
    (root / "apps/monitoring/kustomization.yaml").write_text("resources: [./grafana/ks.yaml, ./exporters/ks.yaml]\n")
    assert flux(root, "flux-path-missing") == [("apps/monitoring/exporters/ks.yaml", 8)]


def test_long_metric_names_in_a_config_file_are_not_tokens(make_repo: RepoFactory) -> None:
    body = "  rules.yaml: |\n    - record: node_network_receive_bytes_total_by_instance\n      expr: sum(x)\n"
    secret = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n{body}"
    assert policy(make_repo({"s.yaml": secret}), "plaintext-secret") == []
    random = secret.replace("node_network_receive_bytes_total_by_instance", "Zk3hQ9aP2mL8vN4tR7wY1cB6dE0fG5jK")
    assert policy(make_repo({"s.yaml": random}), "plaintext-secret") == [("s.yaml", 4)]


def test_a_root_kustomization_applied_by_bootstrap_is_live(make_repo: RepoFactory) -> None:
    # flux/cluster/ks.yaml is applied by bootstrap (nothing here builds it) and builds ./apps,
    # which holds an encrypted file and another Kustomization: it is checked, unlike the
    # archived Kustomization that nothing builds and that builds nothing
    root = make_repo(
        {
            "flux/cluster/ks.yaml": ks("cluster-apps", "./apps"),
            "apps/secret.sops.yaml": vector_bytes(AGE_VECTOR),
            "apps/web/ks.yaml": ks("web", "./apps/web/app", extra=TestDecryptionWiring.DECRYPTION_BLOCK),
            "apps/web/app/kustomization.yaml": "resources: []\n",
            "archive/old/ks.yaml": ks("old", "./apps/old/app"),
        }
    )
    assert flux(root, "flux-decryption-provider") == [("flux/cluster/ks.yaml", 6)]
    assert flux(root, "flux-path-missing") == []


def test_global_decryption_key_stands_in_for_a_missing_secret_ref(make_repo: RepoFactory) -> None:
    provider_only = "  decryption:\n    provider: sops\n"
    tree: dict[str, str | bytes] = {
        "flux/cluster/ks.yaml": ks("cluster-apps", "./apps", extra=provider_only),
        "apps/secret.sops.yaml": vector_bytes(AGE_VECTOR),
    }
    assert flux(make_repo(tree), "flux-decryption-secretref") == [("flux/cluster/ks.yaml", 12)]
    tree["flux/instance.yaml"] = "spec:\n  kustomize:\n    patches:\n      - value: --sops-age-secret=sops-age\n"
    assert flux(make_repo(tree), "flux-decryption-secretref") == []


def test_flags_and_hosts_named_like_auth_are_not_credentials(make_repo: RepoFactory) -> None:
    config = (
        "  config.js: |\n    module.exports = {\n      ldap: {\n        authorized: true,\n"
        '        url: "ldaps://authentik-ldap.example.invalid:636",\n'
        '        rootPassword: "${LDAP_PASSWORD}",\n      },\n    };\n'
    )
    secret = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n{config}"
    assert policy(make_repo({"s.yaml": secret}), "plaintext-secret") == []
    leaky = secret.replace('"${LDAP_PASSWORD}"', '"hunter2-literal"')
    assert policy(make_repo({"s.yaml": leaky}), "plaintext-secret") == [("s.yaml", 4)]


class TestGeneratedFiles:
    def test_kustomize_references_rendered_from_templates_are_not_missing(self, make_repo: RepoFactory) -> None:
        # a repository that renders cluster repositories from templates: the kustomizations list
        # files that exist as *.tpl, and reach a ../base/ that only the rendered layout has
        root = make_repo(
            {
                "templates/manifests/base/kustomization.yaml": "resources:\n  - helmrelease-app.yaml\n  - demos\n",
                "templates/manifests/base/helmrelease-app.yaml.tpl": "kind: HelmRelease\nmetadata: {name: ${name}}\n",
                "templates/manifests/base/demos/kustomization.yaml.tpl": "resources: []\n",
                "templates/generic/manifests/cluster/kustomization.yaml": "resources:\n  - ../base/\n",
                "apps/kustomization.yaml": "resources:\n  - missing.yaml\n",
            }
        )
        assert flux(root, "kustomize-missing-file") == [("apps/kustomization.yaml", 2)]

    def test_a_script_named_after_kubeconfig_is_not_yaml(self, make_repo: RepoFactory) -> None:
        root = make_repo({"bin/kubeconfig-get": "#!/usr/bin/env bash\nset -e\necho \"a: b: c\"\nfoo: [\n"})
        assert policy(root, "yaml-parse-error") == []
        broken = make_repo({"kubeconfig": "apiVersion: v1\nclusters: [\n"})
        assert [path for path, _ in policy(broken, "yaml-parse-error")] == ["kubeconfig"]

    def test_a_terraform_variable_that_locates_a_key_is_not_a_secret_default(self, make_repo: RepoFactory) -> None:
        tf = (
            'variable "ssh_private_key" {\n  description = "Path for SSH private key"\n  default = "identity"\n}\n'
            'variable "default_user_password" {\n  description = "Password for the file share user"\n'
            '  default = "devops"\n}\n'
        )
        assert policy(make_repo({"main.tf": tf}), "terraform-secret-default") == [("main.tf", 7)]


class TestWhoReadsSecrets:
    _ROLE = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: reader\n"
        "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get, list]\n"
    )
    _BINDING = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}Binding\nmetadata:\n  name: reader\n"
        "subjects:\n  - kind: ServiceAccount\n    name: sync\n{ns}roleRef:\n    kind: {kind}\n    name: reader\n"
        "    apiGroup: rbac.authorization.k8s.io\n"
    )
    _JOB = (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: sync\nspec:\n  template:\n    spec:\n"
        "      serviceAccountName: sync\n      containers: [{name: c, image: busybox}]\n"
    )

    def test_a_role_binding_without_a_namespace_grants_in_its_own_namespace(self, make_repo: RepoFactory) -> None:
        # a Role + RoleBinding with no namespace (set when applied): not every namespace, not flux-system
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            "app/rbac.yaml": self._ROLE.format(kind="Role") + "---\n" + self._BINDING.format(kind="Role", ns=""),
            "app/job.yaml": self._JOB,
        }
        report = check_policy(make_repo(files), only=["rbac-workload-reads-all-secrets", "decryption-key-readable"])
        assert [(v.check_id, "the namespace it is applied to" in v.message) for v in report.violations] == [
            ("rbac-workload-reads-all-secrets", True)
        ]
        # a ClusterRoleBinding does reach flux-system, in a repository that uses Flux
        cluster = {
            "app/rbac.yaml": self._ROLE.format(kind="ClusterRole")
            + "---\n"
            + self._BINDING.format(kind="ClusterRole", ns="    namespace: apps\n"),
            "app/job.yaml": self._JOB.replace("name: sync\nspec", "name: sync\n  namespace: apps\nspec"),
        }
        only = ["rbac-workload-reads-all-secrets", "decryption-key-readable"]
        report = check_policy(make_repo(cluster), only=only)
        # an Argo CD repository has no flux-system key: the question does not apply
        assert [v.check_id for v in report.violations] == ["rbac-workload-reads-all-secrets"]
        assert statuses(report)["decryption-key-readable"].status == "not-applicable"  # type: ignore[attr-defined]
        flux_sync = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://example.invalid/r\n"
        )
        report = check_policy(make_repo({**cluster, "clusters/prod/flux-system/gotk-sync.yaml": flux_sync}), only=only)
        assert sorted(v.check_id for v in report.violations) == [
            "decryption-key-readable", "rbac-workload-reads-all-secrets"
        ]

    def test_rbac_in_a_file_its_kustomization_leaves_out_is_not_deployed(self, make_repo: RepoFactory) -> None:
        rbac = self._ROLE.format(kind="ClusterRole") + "---\n" + self._BINDING.format(
            kind="ClusterRole", ns="    namespace: operator-system\n"
        )
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            # an operator kit with two variants; the kustomization deploys one
            "operator/kustomization.yaml": "resources:\n  - ./autopilot-operator.yaml\n",
            "operator/autopilot-operator.yaml": rbac,
            "operator/standard-operator.yaml": rbac,
            "flux-system/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: flux-system\n",
        }
        assert policy(make_repo(files), "decryption-key-readable") == [("operator/autopilot-operator.yaml", 10)]
        # nor is RBAC kept in an archive
        assert policy(make_repo({**files, ".archive/operator/old.yaml": rbac}), "decryption-key-readable") == [
            ("operator/autopilot-operator.yaml", 10)
        ]
        # a kustomization listing none of its neighbours (helmCharts beside their output) leaves none out
        rendered = {
            "cni/kustomization.yaml": "helmCharts:\n  - name: cni\ntransformers:\n  - transformers.yaml\n",
            "cni/transformers.yaml": "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: t}\n",
            "cni/cni.yaml": rbac,
        }
        assert policy(make_repo({**files, **rendered}), "decryption-key-readable") == [
            ("cni/cni.yaml", 10), ("operator/autopilot-operator.yaml", 10)
        ]

    def test_flux_source_watcher_is_one_of_flux_controllers(self, make_repo: RepoFactory) -> None:
        sync = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://example.invalid/r\n"
        )
        binding = self._BINDING.format(kind="ClusterRole", ns="    namespace: flux-system\n")
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            "flux-system/gotk-sync.yaml": sync,
            "flux-system/gotk-components.yaml": self._ROLE.format(kind="ClusterRole")
            + "---\n"
            + binding.replace("name: sync", "name: source-watcher"),
        }
        assert policy(make_repo(files), "decryption-key-readable") == []
        other = {**files, "flux-system/gotk-components.yaml": files["flux-system/gotk-components.yaml"].replace(
            "name: source-watcher", "name: dashboard"
        )}
        assert [path for path, _ in policy(make_repo(other), "decryption-key-readable")] == [
            "flux-system/gotk-components.yaml"
        ]


    def test_a_flux_controller_deployed_from_its_own_config_is_flux(self, make_repo: RepoFactory) -> None:
        # a controller's repository: kubebuilder RBAC for ServiceAccount default in the placeholder
        # namespace "system", a Deployment running the controller's image, Flux objects in testdata
        binding = self._BINDING.format(kind="ClusterRole", ns="    namespace: system\n").replace(
            "name: sync\n    namespace", "name: default\n    namespace"
        )
        manager = (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kustomize-controller\nspec:\n"
            "  template:\n    spec:\n      containers:\n        - name: manager\n"
            "          image: {image}\n"
        )
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            "config/rbac/role.yaml": self._ROLE.format(kind="ClusterRole"),
            "config/rbac/role_binding.yaml": binding,
            "config/manager/deployment.yaml": manager.format(image="ghcr.io/fluxcd/kustomize-controller:v1.0.0"),
            "config/testdata/ks.yaml": ks("podinfo", "./deploy"),
        }
        only = ["decryption-key-readable", "rbac-workload-reads-all-secrets"]
        assert check_policy(make_repo(files), only=only).violations == ()
        # the same layout deploying another image is not Flux: its binding does reach flux-system
        other = {**files, "config/manager/deployment.yaml": manager.format(image="example.invalid/dashboard:1")}
        assert policy(make_repo(other), "decryption-key-readable") == [("config/rbac/role_binding.yaml", 1)]


class TestCloudKmsDecryption:
    def _repo(self, make_repo: RepoFactory, sops_keys: str) -> Path:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: github\nstringData:\n"
            f"  token: {ENC}\n"
            "sops:\n" + sops_keys
            + "  lastmodified: '2024-01-01T00:00:00Z'\n"
            f"  mac: {ENC}\n  encrypted_regex: ^(data|stringData)$\n  version: 3.7.1\n"
        )
        return make_repo(
            {
                "clusters/apps.yaml": ks("apps", "./apps", extra="  decryption:\n    provider: sops\n"),
                "apps/kustomization.yaml": "resources:\n  - secret.enc.yaml\n",
                "apps/secret.enc.yaml": secret,
            }
        )

    def test_a_cloud_kms_file_needs_no_secret_ref(self, make_repo: RepoFactory) -> None:
        # GCP KMS through workload identity: the controller's own identity decrypts (no secretRef)
        gcp = (
            "  gcp_kms:\n    - resource_id: projects/p/locations/global/keyRings/sops/cryptoKeys/sops-key\n"
            "  age: []\n"
        )
        assert flux(self._repo(make_repo, gcp), "flux-decryption-secretref") == []

    def test_an_age_file_still_needs_a_secret_ref(self, make_repo: RepoFactory) -> None:
        age = (
            "  gcp_kms: []\n  age:\n"
            "    - recipient: age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw\n      enc: x\n"
        )
        assert flux(self._repo(make_repo, age), "flux-decryption-secretref") == [("clusters/apps.yaml", 12)]


def test_tab_indented_json_named_kubeconfig_is_not_a_parse_error(make_repo: RepoFactory) -> None:
    text = '{\n\t"data": "ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]",\n\t"sops": {\n\t\t"kms": null\n\t}\n}\n'
    assert policy(make_repo({"docs/talos/kubeconfig": text}), "yaml-parse-error") == []
    assert policy(make_repo({"docs/talos/kubeconfig": text.replace("}\n}", "}\n")}), "yaml-parse-error") != []


def test_a_repository_template_kept_inside_the_repository_resolves_against_its_own_root(
    make_repo: RepoFactory,
) -> None:
    # a Terraform module ships the skeleton of the GitOps repository it creates
    files = {
        "templates/global-ops/.sourceignore": "*.md\n",
        "templates/global-ops/_base/olm/sync.yaml": ks("olm", "./_base/olm/crds"),
        "templates/global-ops/_base/olm/crds/kustomization.yaml": "resources: []\n",
        "clusters/prod/apps.yaml": ks("apps", "./_base/olm/crds"),
    }
    # without its own root marker the same path is a real mistake (Flux resolves from the root)
    assert flux(make_repo(files), "flux-path-missing") == [("clusters/prod/apps.yaml", 8)]


class TestArgoCdRepositories:
    def test_secret_replacer_placeholders_are_references(self, make_repo: RepoFactory) -> None:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kured\ndata:\n"
            "  notify_url: <secret:notify-url|base64>\n  password: <secret:secretKey>\n"
        )
        assert policy(make_repo({"kured/secret.yaml": secret}), "plaintext-secret") == []
        leaky = secret.replace("<secret:secretKey>", base64.b64encode(b"hunter2-" + b"literal").decode())
        assert policy(make_repo({"kured/secret.yaml": leaky}), "plaintext-secret") == [("kured/secret.yaml", 5)]

    def test_unreferenced_sops_files_are_a_flux_question(self, make_repo: RepoFactory) -> None:
        # Argo CD plugins (KSOPS, helm-secrets, secret replacers) name their SOPS files themselves
        files = {
            "apps/renovate/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "apps/renovate/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: r}\n",
            "apps/renovate/secret.sec.yaml": encrypted_secret(),
        }
        report = validate_flux(make_repo(files), only=["encrypted-file-unreferenced"])
        assert report.ok and statuses(report)["encrypted-file-unreferenced"].status == "not-applicable"  # type: ignore[attr-defined]
        with_flux = {**files, "clusters/apps.yaml": ks("apps", "./apps/renovate")}
        assert flux(make_repo(with_flux), "encrypted-file-unreferenced") == [("apps/renovate/secret.sec.yaml", None)]

    def test_a_public_key_beside_the_age_key_is_harmless(self, make_repo: RepoFactory) -> None:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\n"
            f"stringData:\n  age.pubkey: {ENC}\n  age.agekey: {ENC}\n" + SOPS_BLOCK
        )
        files = {
            "clusters/apps.yaml": ks("apps", "./apps", extra="  decryption:\n    provider: sops\n    secretRef:\n"
                                     "      name: sops-age\n"),
            "apps/kustomization.yaml": "resources: []\n",
            "bootstrap/age-key.sops.yaml": secret,
        }
        assert flux(make_repo(files), "flux-decryption-key-name") == []
        wrong = {**files, "bootstrap/age-key.sops.yaml": secret.replace("age.agekey", "keys.txt")}
        assert [line for _, line in flux(make_repo(wrong), "flux-decryption-key-name")] == [7, 8]


class TestThirdRound:
    def test_vendored_collections_test_keys_are_not_the_repositorys(self, make_repo: RepoFactory) -> None:
        kind = "RSA " + "PRIVATE KEY"  # split: the repository's own scan must not see a key block
        pem = f"-----BEGIN {kind}-----\n" + "A" * 64 + f"\n-----END {kind}-----\n"
        root = make_repo(
            {
                "ansible/collections/ansible_collections/community/general/tests/files/ca_key.pem": pem,
                "ansible/files/ca_key.pem": pem,
            }
        )
        assert policy(root, "private-key") == [("ansible/files/ca_key.pem", 1)]

    def test_a_token_comment_is_not_a_token(self, make_repo: RepoFactory) -> None:
        tf = 'variable "token_comment" {\n  default = "API token for Terraform"\n}\n'
        assert policy(make_repo({"vars.tf": tf}), "terraform-secret-default") == []

    def test_a_disabled_sops_file_is_not_unreferenced(self, make_repo: RepoFactory) -> None:
        files = {
            "clusters/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources: []\n",
            "apps/config.sops.yaml.disabled": encrypted_secret(),
        }
        assert flux(make_repo(files), "encrypted-file-unreferenced") == []
        files["apps/config.sops.yaml"] = encrypted_secret()
        assert flux(make_repo(files), "encrypted-file-unreferenced") == [("apps/config.sops.yaml", None)]

    def test_tooling_keys_outside_the_work_tree(self, make_repo: RepoFactory) -> None:
        rules = {".sops.yaml": TestGitignoreTooling.AGE}
        script = 'SOPS_AGE_KEY_FILE="${SOPS_AGE_KEY_FILE:-${HOME}/.config/sops/age/keys.txt}"\n'
        ci = 'echo "SOPS_AGE_KEY_FILE=$RUNNER_TEMP/age.key" >> "$GITHUB_ENV"\n'
        actions = "env:\n  SOPS_AGE_KEY_FILE: ${{ runner.temp }}/age.key\n"
        for tooling in (
            {"scripts/provision.sh": script},
            {".github/workflows/apply.yaml": f"run: |\n  {ci}"},
            {".github/workflows/diff.yaml": actions},
        ):
            report = check_policy(make_repo({**rules, **tooling}, gitignore=""), only=["gitignore-agekey"])
            assert report.ok and report.statuses[0].status == "not-applicable", tooling
        # a justfile keeping the key at the root: that name must be ignored, and is
        just = {
            "justfile": 'export SOPS_AGE_KEY_FILE := justfile_directory() / "age.key"\n',
            ".justfiles/sops.just": 'export SOPS_AGE_KEY_FILE := source_directory() / ".." / "age.key"\n',
        }
        assert policy(make_repo({**rules, **just}, gitignore="# Age\nage.key\n"), "gitignore-agekey") == []
        assert policy(make_repo({**rules, **just}, gitignore="*.log\n"), "gitignore-agekey") == [(".gitignore", None)]

    def test_a_dotenv_template_the_scripts_load_places_the_key(self, make_repo: RepoFactory) -> None:
        """held-out-9: ``.env.example`` (copied to ``.env`` and loaded by the repository's
        scripts) sets the key under ``./.local/``, which .gitignore ignores; a template pointing
        into a directory nothing ignores is still reported."""
        rules = {".sops.yaml": TestGitignoreTooling.AGE}
        env = {".env.example": "SOPS_AGE_KEY_FILE=./.local/sops/age.key\nCLUSTER=home\n"}
        assert policy(make_repo({**rules, **env}, gitignore=".local/\n.env\n"), "gitignore-agekey") == []
        assert policy(make_repo({**rules, **env}, gitignore=".env\n"), "gitignore-agekey") == [(".gitignore", None)]


def test_secret_data_value_that_is_a_base64_sops_document_is_not_plaintext(make_repo: RepoFactory) -> None:
    """kustomize-controller decrypts a Secret data entry holding a whole SOPS document (base64);
    fluxcd/kustomize-controller's testdata was reported as a plaintext Secret. A base64 value that
    merely mentions ``sops`` is still plaintext."""
    document = base64.b64encode(("password: " + ENC + "\n" + SOPS_BLOCK).encode()).decode()
    made_up = "hunter2-" + "made-up-Zq8x"  # joined at run time: the repository's self-scan stays clean
    lookalike = base64.b64encode(f"sops: yes\npassword: {made_up}\n".encode()).decode()
    root = make_repo({
        "apps/inside.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: inside\ndata:\n  app.yaml: {document}\n",
        "apps/plain.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\ndata:\n  app.yaml: {lookalike}\n",
    })
    assert policy(root, "plaintext-secret") == [("apps/plain.yaml", 5)]


def test_outputs_of_pgp_encrypted_credentials_need_no_sensitive_flag(make_repo: RepoFactory) -> None:
    """aws_iam_access_key's encrypted_secret and a login profile's PGP message are ciphertext:
    ipni/storetheindex's four such outputs were reported. Plaintext ones still are, even when the
    output's name says "encrypted"."""
    outputs = (
        'output "deploy_user_secret_encrypted" {\n  value = module.deploy_user.iam_access_key_encrypted_secret\n}\n'
        'output "console_password_encrypted" {\n  value = module.console.keybase_password_pgp_message\n}\n'
        'output "deploy_user_secret" {\n  value = aws_iam_access_key.deploy.secret\n}\n'
        'output "db_password_encrypted" {\n  value = random_password.db.result\n}\n'
    )
    root = make_repo({"infra/outputs.tf": outputs})
    assert policy(root, "terraform-sensitive-output") == [("infra/outputs.tf", 8), ("infra/outputs.tf", 11)]


def test_secret_generator_file_holding_only_a_placeholder_is_not_plaintext(make_repo: RepoFactory) -> None:
    """ipni/storetheindex commits ``<place-holder for ... key>`` as a generator's file; a key next
    to it is still reported."""
    kustomization = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n"
                     "  - name: identity\n    files:\n      - identity.key\n      - other.key\n")
    root = make_repo({
        "app/kustomization.yaml": kustomization,
        "app/identity.key": "<place-holder for the made-up service key>\n",
        "app/other.key": "Zq8xW3vN7pL2rT9kY4mB6cH1dF5gJ0sA\n",
    })
    assert policy(root, "plaintext-secret") == [("app/other.key", None)]


# -- held-out-5: what the fifth held-out round showed (frozen 2ced587) -------------------------

class TestFifthRound:
    _ROLE = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: copier\n"
        "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: ['*']\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: copier\n"
        "roleRef:\n  kind: ClusterRole\n  name: copier\n  apiGroup: rbac.authorization.k8s.io\n"
        "subjects:\n  - kind: ServiceAccount\n    name: copier\n    namespace: storage\n"
    )
    _CRON = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: copier\n  namespace: storage\nspec:\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n          serviceAccountName: copier\n"
        "          containers: [{name: c, image: example.invalid/kubectl:1}]\n"
    )

    def test_rbac_dropped_from_a_tree_flux_builds_is_not_deployed(self, make_repo: RepoFactory) -> None:
        # Flux builds apps/storage; its kustomization lists only the namespace: the copier/
        # directory (RBAC + CronJob, with its own kustomization) was taken out of the build
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            "clusters/storage.yaml": ks("storage", "./apps/storage"),
            "apps/storage/kustomization.yaml": "resources:\n  - namespace.yaml\n",
            "apps/storage/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: storage\n",
            "apps/storage/copier/kustomization.yaml": "resources:\n  - rbac.yaml\n  - cronjob.yaml\n",
            "apps/storage/copier/rbac.yaml": self._ROLE,
            "apps/storage/copier/cronjob.yaml": self._CRON,
        }
        only = ["decryption-key-readable", "rbac-workload-reads-all-secrets"]
        assert check_policy(make_repo(files), only=only).violations == ()
        # listed again by its parent, it is deployed and reported by both checks
        listed = {**files, "apps/storage/kustomization.yaml": "resources:\n  - namespace.yaml\n  - copier\n"}
        report = check_policy(make_repo(listed), only=only)
        assert sorted(v.check_id for v in report.violations) == only

    def test_rbac_outside_every_flux_path_may_be_applied_by_other_means(self, make_repo: RepoFactory) -> None:
        # manifests a Talos/Ansible bootstrap applies: no Flux path above them, still judged
        files = {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use
            "clusters/storage.yaml": ks("storage", "./apps/storage"),
            "apps/storage/kustomization.yaml": "resources:\n  - namespace.yaml\n",
            "apps/storage/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: storage\n",
            "talos/cni/kustomization.yaml": "resources:\n  - rbac.yaml\n  - cronjob.yaml\n",
            "talos/cni/rbac.yaml": self._ROLE,
            "talos/cni/cronjob.yaml": self._CRON,
        }
        assert policy(make_repo(files), "decryption-key-readable") == [("talos/cni/rbac.yaml", 10)]

    def test_a_secret_of_ssh_public_keys_is_not_a_secret(self, make_repo: RepoFactory) -> None:
        body = "AAAAC3NzaC1lZDI1NTE5AAAA" + "Zm9vYmFyYmF6cXV4" * 2
        public = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\nstringData:\n  authorized_keys: |\n"
            f"    # team\n    ssh-ed25519 {body} alice@example.invalid\n"
            f'    no-port-forwarding,command="/bin/true" ssh-ed25519 {body}\n'
        )
        assert policy(make_repo({"app/keys.yaml": public}), "plaintext-secret") == []
        # a private key beside them is still reported
        private = public + "  id_ed25519: |\n    -----BEGIN OPENSSH " + "PRIVATE KEY-----\n    b3Blbg==\n"
        assert policy(make_repo({"app/keys.yaml": private}), "plaintext-secret") == [("app/keys.yaml", 5)]

    def test_redacted_values_and_the_configuration_beside_them(self, make_repo: RepoFactory) -> None:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: restic\nstringData:\n"
            "  RESTIC_REPOSITORY: s3:http://minio.storage.svc:9000/volsync/app\n"
            "  RESTIC_PASSWORD: redacted\n  AWS_SECRET_ACCESS_KEY: '<REDACTED>'\n"
        )
        assert policy(make_repo({"tests/restic.yaml": secret}), "plaintext-secret") == []
        real = secret.replace("RESTIC_PASSWORD: redacted", "RESTIC_PASSWORD: " + "k2V" + "9wQ7rTz")
        assert policy(make_repo({"tests/restic.yaml": real}), "plaintext-secret") == [("tests/restic.yaml", 5)]

    def test_a_config_whose_settings_are_all_commented_out(self, make_repo: RepoFactory) -> None:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vpn\nstringData:\n  wg0.conf: |\n"
            "    # [Interface]\n    # PrivateKey = <your key>\n    # Address = <address>\n"
            "  feeds.json: '# add your feeds here'\n"
        )
        assert policy(make_repo({"app/vpn.yaml": secret}), "plaintext-secret") == []
        # one line starting with # is not a remark: it may be a password
        password = secret.replace("'# add your feeds here'", "'#" + "Xq7!vR2p'").replace("feeds.json", "password")
        assert policy(make_repo({"app/vpn.yaml": password}), "plaintext-secret") == [("app/vpn.yaml", 5)]

    def test_a_template_left_out_beside_the_encrypted_secret(self, make_repo: RepoFactory) -> None:
        template = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
            "  username: admin\n  password: changeme\n"
        )
        files: dict[str, str | bytes] = {
            "app/kustomization.yaml": "resources:\n  - helmrelease.yaml\n  - secret.sops.yaml\n",
            "app/helmrelease.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\n",
            "app/secret.sops.yaml": vector_bytes(AGE_VECTOR),
            "app/secret-tmpl.yaml": template,
        }
        assert policy(make_repo(files), "plaintext-secret") == []
        # listed, it is applied as written: its placeholder password counts
        listed = {**files, "app/kustomization.yaml": "resources:\n  - secret-tmpl.yaml\n  - secret.sops.yaml\n"}
        assert policy(make_repo(listed), "plaintext-secret") == [("app/secret-tmpl.yaml", 5)]
        # key material in a template still counts
        pem = template + "  tls.key: |\n    -----BEGIN EC " + "PRIVATE KEY-----\n    MHcCAQEE\n"
        keyed = {**files, "app/secret-tmpl.yaml": pem}
        assert policy(make_repo(keyed), "plaintext-secret") == [("app/secret-tmpl.yaml", 5)]
        # a left-out file whose credentials are placeholders is applied by nothing and leaks
        # nothing (held-out-10: "REPLACE_WITH_CLIENT_SECRET" in a commented-out resource)...
        stub = {**files, "app/oidc-secret.yaml": template.replace("changeme", "REPLACE_WITH_CLIENT_SECRET")}
        assert policy(make_repo(stub), "plaintext-secret") == []
        # ...but whatever its name, a left-out plaintext copy of real values is still a leak
        decrypted = template.replace("changeme", "Vq" + "7r-Lw2" * 3)
        copy = {**files, "app/secret-dec.yaml": decrypted}
        assert policy(make_repo(copy), "plaintext-secret") == [("app/secret-dec.yaml", 5)]

    def test_an_empty_terraform_state_holds_nothing(self, make_repo: RepoFactory) -> None:
        state = '{"version": 4, "resources": [{"mode": "managed", "type": "null_resource", "name": "x"}]}\n'
        root = make_repo({"backend/terraform.tfstate": "", "infra/terraform.tfstate": state})
        assert policy(root, "terraform-state-committed") == [("infra/terraform.tfstate", None)]

    def test_a_setup_script_without_suffix_keeps_the_key_in_an_ignored_directory(
        self, make_repo: RepoFactory
    ) -> None:
        age = "creation_rules:\n  - age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
        script = (
            '#!/usr/bin/env bash\nPROJECT_ROOT="$(cd "$(dirname "$0")/.." && pwd)"\n'
            'export SOPS_AGE_KEY_FILE="${PROJECT_ROOT}/.env/cluster-age-key.txt"\n'
        )
        files = {".sops.yaml": age, "script/setup": script}
        assert policy(make_repo(files, gitignore=".env/*\n"), "gitignore-agekey") == []
        assert policy(make_repo(files, gitignore=".env/\n"), "gitignore-agekey") == []
        assert policy(make_repo(files, gitignore=".venv\n"), "gitignore-agekey") == [(".gitignore", None)]

    def test_a_flux_instance_sync_source_is_this_repository(self, make_repo: RepoFactory) -> None:
        instance = (
            "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n"
            "  namespace: flux-system\nspec:\n  sync:\n    kind: GitRepository\n    name: cluster\n"
            "    url: https://example.invalid/me/cluster.git\n    ref: refs/tags/production\n    path: clusters/prod\n"
        )
        files: dict[str, str | bytes] = {
            "clusters/prod/kustomization.yaml": "resources:\n  - flux.yaml\n  - vars.yaml\n",
            "clusters/prod/flux.yaml": instance,
            # a root that builds no other Kustomization: live only because the instance builds it
            "clusters/prod/vars.yaml": ks("vars", "./vars", "kind: GitRepository\n    name: cluster"),
            "vars/kustomization.yaml": "resources:\n  - secret.sops.yaml\n",
            "vars/secret.sops.yaml": vector_bytes(AGE_VECTOR),
        }
        root = make_repo(files)
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "https://example.invalid/me/cluster"],
                       check=True)
        assert flux(root, "flux-decryption-provider") == [("clusters/prod/vars.yaml", 6)]
        # without the instance, GitRepository "cluster" is defined nowhere: nothing was checked
        (root / "clusters/prod/flux.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")
        report = validate_flux(root, only=["flux-decryption-provider"])
        assert report.ok
        assert any("is not defined in this repository" in n for n in statuses(report)["flux-decryption-provider"].notes)  # type: ignore[attr-defined]

    def test_a_sops_file_the_sourceignore_keeps_out_never_reaches_flux(self, make_repo: RepoFactory) -> None:
        # a key for a bootstrap script, encrypted beside the manifests but left out of the artifact
        files: dict[str, str | bytes] = {
            "clusters/prod/flux-system/gotk-sync.yaml": ks("flux-system", "./clusters/prod"),
            "clusters/prod/namespaces.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
            "clusters/prod/secrets/bootstrap-key.enc.yaml": vector_bytes(AGE_VECTOR),
            ".sourceignore": "/*\n!/clusters\n/clusters/prod/secrets/\n",
        }
        assert flux(make_repo(files), "flux-decryption-provider") == []
        # the GitRepository's spec.ignore comes after the file and can bring the directory back
        sync = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n"
            "  namespace: flux-system\nspec:\n  url: https://example.invalid/me/cluster\n"
            "  ignore: |\n    /*\n    !/clusters\n"
        )
        back = {**files, ".sourceignore": "/clusters/\n", "clusters/prod/flux-system/source.yaml": sync}
        assert flux(make_repo(back), "flux-decryption-provider") == [("clusters/prod/flux-system/gotk-sync.yaml", 6)]
        # re-included by a later line, or never ignored: Flux builds it and needs decryption
        files[".sourceignore"] = "/*\n!/clusters\n"
        files["clusters/prod/flux-system/source.yaml"] = sync
        assert flux(make_repo(files), "flux-decryption-provider") == [("clusters/prod/flux-system/gotk-sync.yaml", 6)]


class TestSixthRound:
    def test_a_user_name_under_an_auth_key_beside_references(self, make_repo: RepoFactory) -> None:
        # held-out-6: BASIC_AUTH_USERNAME reported beside ${VAR} credentials
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ui\nstringData:\n"
            "  BASIC_AUTH_USERNAME: admin\n  BASIC_AUTH_PASSWORD: ${UI_PASSWORD}\n"
            "  OAUTH_CLIENT_ID: velero-ui\n  OAUTH_CLIENT_SECRET: ${UI_CLIENT_SECRET}\n"
        )
        assert policy(make_repo({"app/ui.yaml": secret}), "plaintext-secret") == []
        # a literal password beside the references is still reported
        literal = secret.replace("${UI_PASSWORD}", "Zk" + "4vQ9pLm2")
        assert policy(make_repo({"app/ui.yaml": literal}), "plaintext-secret") == [("app/ui.yaml", 5)]


class TestSeventhRound:
    def test_an_elided_key_block_quoted_in_a_plan_followed_by_a_public_key(self, make_repo: RepoFactory) -> None:
        # held-out-7: a Markdown plan quoting a commented-out OpenSSH block whose body is "...",
        # with the matching public key on the next lines: no key material inside the block
        import secrets as _secrets

        public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + base64.b64encode(_secrets.token_bytes(32)).decode()
        begin, end = "-----BEGIN OPENSSH " + "PRIVATE KEY-----", "-----END OPENSSH " + "PRIVATE KEY-----"
        plan = (f"# Deploy key\n\n```yaml\n# identity: |\n#   {begin}\n#   ...\n#   {end}\n"
                f"# identity.pub: {public}\n```\n")
        assert policy(make_repo({"docs/plan.md": plan}), "private-key") == []
        # a block with material inside it is still reported
        body = "\n".join(base64.b64encode(_secrets.token_bytes(48)).decode() for _ in range(3))
        real = f"{begin}\n{body}\n{end}\n"
        assert policy(make_repo({"docs/plan.md": real}), "private-key") == [("docs/plan.md", 1)]


class TestFluxArtifactIgnoreRules:
    """What is in Flux's artifact follows source-controller's go-git matcher, not git's rules
    (fluxcd/source-controller internal/controller/gitrepository_controller.go
    ``reconcileArtifact``: ``sourceignore.LoadIgnorePatterns`` then ``spec.ignore`` appended, then
    fluxcd/pkg artifact/storage/archive.go ``SourceIgnoreFilter`` asked for each file's path)."""

    SOURCE = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n"
        "  namespace: flux-system\nspec:\n  url: https://example.invalid/me/cluster\n"
    )

    def test_spec_ignore_that_re_includes_a_subdirectory_keeps_its_sops_files(self, make_repo: RepoFactory) -> None:
        # held-out-7: '/*' then '!/kubernetes/main' was read with git's rule; 0 Kustomizations checked
        files: dict[str, str | bytes] = {
            "kubernetes/main/flux/source.yaml": self.SOURCE + "  ignore: |\n    /*\n    !/kubernetes/main\n",
            "kubernetes/main/flux/apps.yaml": ks("apps", "./kubernetes/main/apps"),
            "kubernetes/main/apps/kustomization.yaml": "resources:\n  - secret.sops.yaml\n",
            "kubernetes/main/apps/secret.sops.yaml": vector_bytes(AGE_VECTOR),
        }
        assert flux(make_repo(files), "flux-decryption-provider") == [("kubernetes/main/flux/apps.yaml", 6)]
        # a directory the later line does not bring back stays out of the artifact
        files["kubernetes/main/flux/apps.yaml"] = ks("apps", "./kubernetes/other/apps")
        files["kubernetes/other/apps/kustomization.yaml"] = files.pop("kubernetes/main/apps/kustomization.yaml")
        files["kubernetes/other/apps/secret.sops.yaml"] = files.pop("kubernetes/main/apps/secret.sops.yaml")
        assert flux(make_repo(files), "flux-decryption-provider") == []

    def test_flux_default_exclusions_apply_only_without_any_ignore_pattern(self, make_repo: RepoFactory) -> None:
        """fluxcd/pkg sourceignore/sourceignore.go ``ExcludeCI`` leaves ``.github/`` out, but
        ``SourceIgnoreFilter`` uses those defaults only when no .sourceignore or spec.ignore gives
        a pattern (then only ``ExcludeVCS`` stays)."""
        files: dict[str, str | bytes] = {
            "clusters/prod/flux.yaml": ks("ci", "./.github/deploy"),
            "clusters/prod/source.yaml": self.SOURCE,
            ".github/deploy/kustomization.yaml": "resources:\n  - secret.sops.yaml\n",
            ".github/deploy/secret.sops.yaml": vector_bytes(AGE_VECTOR),
        }
        assert flux(make_repo(files), "flux-decryption-provider") == []
        files[".sourceignore"] = "*.md\n"
        assert flux(make_repo(files), "flux-decryption-provider") == [("clusters/prod/flux.yaml", 6)]

    def test_each_cluster_directory_reads_the_spec_ignore_of_its_own_same_named_source(
        self, make_repo: RepoFactory
    ) -> None:
        # held-out-7: kubernetes/main and kubernetes/storage each define flux-system/home-kubernetes,
        # each keeping only its own directory; the last definition read hid the other cluster's files
        files: dict[str, str | bytes] = {}
        for cluster in ("main", "storage"):
            source = self.SOURCE.replace("name: flux-system\n", "name: home\n", 1)
            ignore = f"  ignore: |\n    /*\n    !/kubernetes/{cluster}\n"
            files[f"kubernetes/{cluster}/flux/source.yaml"] = source + ignore
            files[f"kubernetes/{cluster}/flux/apps.yaml"] = ks(
                "apps", f"./kubernetes/{cluster}/apps", "kind: GitRepository\n    name: home"
            )
            files[f"kubernetes/{cluster}/apps/kustomization.yaml"] = "resources:\n  - secret.sops.yaml\n"
            files[f"kubernetes/{cluster}/apps/secret.sops.yaml"] = vector_bytes(AGE_VECTOR)
        assert flux(make_repo(files), "flux-decryption-provider") == [
            ("kubernetes/main/flux/apps.yaml", 6), ("kubernetes/storage/flux/apps.yaml", 6)
        ]


def test_outputs_named_as_public_identifiers_need_no_sensitive_flag_even_from_random_password(
    make_repo: RepoFactory,
) -> None:
    """held-out-7: an OIDC ``client_id`` generated with ``random_password`` was reported; a client
    ID is public by design (only the client secret is a credential), and so are a user name, an
    address and ``tls_private_key``'s public half. Secret names fed the same way still are."""
    outputs = (
        'output "client_id" {\n  value = random_password.client_id.result\n}\n'  # 1
        'output "db_username" {\n  value = random_password.user.result\n}\n'  # 4
        'output "issuer_url" {\n  value = "https://${random_string.host.result}.example.invalid"\n}\n'  # 7
        'output "deploy_key_openssh" {\n  value = tls_private_key.deploy.public_key_openssh\n}\n'  # 10
        'output "client_secret" {\n  value = random_password.client_secret.result\n}\n'  # 13
        'output "secret_id" {\n  value = random_password.approle.result\n}\n'  # 16
        'output "generated" {\n  value = random_password.g.result\n}\n'  # 19
        'output "deploy_key" {\n  value = tls_private_key.deploy.private_key_openssh\n}\n'  # 22
        'output "db_user" {\n  value = aws_db_instance.main.password\n}\n'  # 25
    )
    root = make_repo({"infra/outputs.tf": outputs})
    assert policy(root, "terraform-sensitive-output") == [
        ("infra/outputs.tf", 14), ("infra/outputs.tf", 17), ("infra/outputs.tf", 20), ("infra/outputs.tf", 23),
        ("infra/outputs.tf", 26),
    ]


def test_the_access_key_of_a_key_pair_is_an_identifier(make_repo: RepoFactory) -> None:
    """held-out-8: MinIO ``access_key`` outputs were reported beside their ``secret_key``; the
    access key of an S3-style pair is an ID (like AWS's access key ID), the secret half is the
    credential. An access key with no secret half beside it (Azure's ``primary_access_key`` is
    the whole credential) and a pair's access key whose value is a secret attribute still are."""
    pair = (
        'output "minio_access_key" {\n  value = minio_iam_service_account.app.access_key\n}\n'  # 1
        'output "minio_secret_key" {\n  value = minio_iam_service_account.app.secret_key\n}\n'  # 4
        'output "user_access_key" {\n  value = var.owner_access_key\n}\n'  # 7
        'output "user_secret_key" {\n  value     = var.owner_secret_key\n  sensitive = true\n}\n'  # 10
        'output "access_key" {\n  value = minio_iam_user.app.secret\n}\n'  # 14: an ID name, a secret value
        'output "secret" {\n  value = "unused"\n  sensitive = true\n}\n'  # 17
    )
    alone = 'output "primary_access_key" {\n  value = azurerm_storage_account.main.primary_access_key\n}\n'
    root = make_repo({"minio/outputs.tf": pair, "azure/outputs.tf": alone})
    assert policy(root, "terraform-sensitive-output") == [
        ("azure/outputs.tf", 2), ("minio/outputs.tf", 5), ("minio/outputs.tf", 15),
    ]


def test_a_whole_module_output_is_judged_by_the_module_outputs(make_repo: RepoFactory) -> None:
    """held-out-9: ``output "secrets" { value = module.secrets }`` was reported for its name, while
    the local module's only output is an item ID. The module's outputs decide; a module whose
    output is a password (or marked sensitive) still makes the caller's output a finding, and a
    registry module (not read) is judged by the name as before."""
    item = 'output "id" {\n  value = vault_item.this.id\n}\n'
    password = 'output "password" {\n  value = random_password.db.result\n}\n'
    root_tf = (
        'module "secrets" {\n  source = "./modules/item"\n}\n'  # 1
        'module "db" {\n  source = "./modules/db"\n}\n'  # 4
        'module "remote" {\n  source = "example/secret-store/provider"\n}\n'  # 7
        'output "secrets" {\n  value = module.secrets\n}\n'  # 10
        'output "db_secrets" {\n  value = module.db\n}\n'  # 13
        'output "db_login" {\n  value = module.db.password\n}\n'  # 16
        'output "remote_secrets" {\n  value = module.remote\n}\n'  # 19
    )
    root = make_repo({"tf/main.tf": root_tf, "tf/modules/item/outputs.tf": item,
                      "tf/modules/db/outputs.tf": password})
    assert policy(root, "terraform-sensitive-output") == [
        ("tf/main.tf", 14), ("tf/main.tf", 17), ("tf/main.tf", 20), ("tf/modules/db/outputs.tf", 2),
    ]


def test_a_variable_described_as_a_key_name_holds_no_key(make_repo: RepoFactory) -> None:
    """held-out-8: ``variable "crypto_key"`` defaulted to the NAME of a KMS key ("Crypto key name
    to create") was reported as a committed secret; a key described as a key still is."""
    tf = (
        'variable "crypto_key" {\n  description = "Crypto key name to create"\n  default = "sops-key"\n}\n'
        'variable "signing_key" {\n  description = "The signing key"\n  default = "k3y-m4terial-Zq81"\n}\n'
    )
    assert policy(make_repo({"kms/variables.tf": tf}), "terraform-secret-default") == [("kms/variables.tf", 7)]


def test_an_upstream_projects_repository_is_not_this_one_even_when_a_path_matches(make_repo: RepoFactory) -> None:
    """held-out-9: an operator's Kustomization builds ``./kubernetes`` of the operator project's
    own GitRepository (another URL, another repository name). This repository also has a
    ``kubernetes/`` tree, so it was taken for this one: the whole tree became a child and no root
    was left, and 0 Kustomizations were checked. A URL naming another repository is another
    repository; a GitRepository whose URL has this repository's name (a mirror on another host)
    and builds paths that exist here is still this one."""
    upstream = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: operator-upstream\n"
        "  namespace: flux-system\nspec:\n  url: https://example.invalid/vendor/operator-manifests\n"
    )
    files: dict[str, str | bytes] = {
        "kubernetes/flux/cluster-apps.yaml": ks("cluster-apps", "./kubernetes/apps"),
        "kubernetes/apps/kustomization.yaml": "resources:\n  - app.yaml\n  - operator.yaml\n",
        "kubernetes/apps/app.yaml": ks("app", "./kubernetes/apps/app/deploy"),
        "kubernetes/apps/operator.yaml": ks("operator", "./kubernetes",
                                            "kind: GitRepository\n    name: operator-upstream"),
        "kubernetes/apps/upstream.yaml": upstream,
        "kubernetes/apps/app/deploy/kustomization.yaml": "resources:\n  - secret.sops.yaml\n",
        "kubernetes/apps/app/deploy/secret.sops.yaml": vector_bytes(AGE_VECTOR),
    }
    root = make_repo(files)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "https://example.invalid/me/home-ops.git"],
                   check=True)
    assert flux(root, "flux-decryption-provider") == [("kubernetes/apps/app.yaml", 6)]
    # the same source under this repository's name (a mirror on another host) is this repository
    mirror = root / "kubernetes/apps/upstream.yaml"
    mirror.write_text(upstream.replace("vendor/operator-manifests", "mirror/home-ops"))
    # judged this repository, it builds the whole tree, so the app is its child and nothing is a root
    assert flux(root, "flux-decryption-provider") == []


def test_a_secret_holding_a_time_zone_is_not_a_plaintext_secret(make_repo: RepoFactory) -> None:
    """held-out-9: a Secret whose one data value decodes to ``Area/City`` plus a newline was
    reported; a time zone configures, it does not authenticate. A random value under the same
    key still counts (a Secret is meant to hold secrets)."""
    def secret(name: str, value: str) -> str:
        encoded = base64.b64encode(value.encode()).decode()
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ndata:\n  APP_TZ: {encoded}\n"

    root = make_repo({"apps/tz.yaml": secret("tz", "America/Argentina/Buenos_Aires\n"),
                      "apps/zone.yaml": secret("zone", "Europe/Paris\n"),
                      "apps/random.yaml": secret("random", "Q7" + "x9Lm" + "2Vr8" + "Kp4Z\n")})
    assert policy(root, "plaintext-secret") == [("apps/random.yaml", 5)]


def test_a_secret_of_public_certificates_is_not_a_plaintext_secret(make_repo: RepoFactory) -> None:
    """held-out-9: a Secret holding only a CA bundle was reported; certificates are published by
    design. The same Secret with the private key beside the certificate still is."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "made-up ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()

    def secret(values: dict[str, str]) -> str:
        body = "".join(f"  {k}: |\n" + "".join(f"    {line}\n" for line in v.splitlines()) for k, v in values.items())
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca\nstringData:\n{body}"

    root = make_repo({"certs/ca.yaml": secret({"ca.crt": pem, "bundle.pem": pem + pem}),
                      "certs/tls.yaml": secret({"tls.crt": pem, "tls.key": private})})
    assert [path for path, _line in policy(root, "plaintext-secret")] == ["certs/tls.yaml"]


def test_a_source_url_with_a_token_is_shown_without_it(make_repo: RepoFactory) -> None:
    """The "not checked" reason names another repository's URL: its user info (a token in
    ``https://x-access-token:TOKEN@host/...``) must never reach the output."""
    from sopskit.policy import validate_flux

    token = "ghp_" + "Zq8" * 12
    source = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: vendor\n"
        f"  namespace: flux-system\nspec:\n  url: https://x-access-token:{token}@example.invalid/vendor/manifests\n"
    )
    root = make_repo({"clusters/vendor.yaml": source,
                      "clusters/operator.yaml": ks("operator", "./deploy", "kind: GitRepository\n    name: vendor")})
    report = validate_flux(root)
    shown = " ".join(str(note) for status in report.statuses for note in getattr(status, "notes", []))
    assert "example.invalid/vendor/manifests" in shown
    assert token not in shown
