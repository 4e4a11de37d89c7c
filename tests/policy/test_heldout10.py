"""Made-up, minimised reproductions of the false findings of the tenth held-out round
(docs/guardrails.md, "Held-out round 10"). Each case comes with a near-identical one whose
verdict must not change, so a fix cannot silence a true finding."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import AGE_VECTOR_RECIPIENT, SOPS_CONFIG, RepoFactory, flux, flux_ks, policy

ks = flux_ks


_READER = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n"
    "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get, list]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: reader\n"
    "roleRef:\n  kind: ClusterRole\n  name: reader\n  apiGroup: rbac.authorization.k8s.io\n"
    "subjects:\n  - kind: ServiceAccount\n    name: setup\n    namespace: idp\n"
)
_JOB = (
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: setup\n  namespace: idp\nspec:\n"
    "  template:\n    spec:\n      serviceAccountName: setup\n"
    "      containers: [{name: c, image: example.invalid/setup:1}]\n"
)


def _checks(root: Path, *ids: str) -> list[tuple[str, str]]:
    return sorted((v.check_id, v.path) for v in check_policy(root, only=list(ids)).violations)


class TestNoSopsNoDecryptionKey:
    """31 of round 10's false findings: ``decryption-key-readable`` in Flux repositories that use
    no SOPS at all (External Secrets, Sealed Secrets): flux-system holds no decryption key."""

    FILES = {
        "clusters/home/idp.yaml": ks("idp", "./idp"),
        "idp/kustomization.yaml": "resources:\n  - rbac.yaml\n  - job.yaml\n",
        "idp/rbac.yaml": _READER,
        "idp/job.yaml": _JOB,
    }

    def test_without_sops_the_check_is_not_applicable(self, make_repo: RepoFactory) -> None:
        root = make_repo(self.FILES)
        report = check_policy(root, only=["decryption-key-readable", "rbac-workload-reads-all-secrets"])
        assert sorted(v.check_id for v in report.violations) == ["rbac-workload-reads-all-secrets"]
        status = next(s for s in report.statuses if s.check_id == "decryption-key-readable")
        assert status.status == "not-applicable" and "uses no SOPS" in str(status.reason)

    def test_with_sops_in_use_it_is_reported(self, make_repo: RepoFactory) -> None:
        root = make_repo({**self.FILES, **SOPS_CONFIG})
        assert _checks(root, "decryption-key-readable") == [("decryption-key-readable", "idp/rbac.yaml")]

    def test_a_kustomization_that_decrypts_keeps_it_applicable(self, make_repo: RepoFactory) -> None:
        decrypting = ks("idp", "./idp") + "  decryption:\n    provider: sops\n"
        root = make_repo({**self.FILES, "clusters/home/idp.yaml": decrypting})
        assert _checks(root, "decryption-key-readable") == [("decryption-key-readable", "idp/rbac.yaml")]


def test_a_workload_in_a_file_its_kustomization_leaves_out_runs_nowhere(make_repo: RepoFactory) -> None:
    """The binding is deployed, the Job that would use it is commented out of the kustomization."""
    files = {
        **SOPS_CONFIG,
        "clusters/home/idp.yaml": ks("idp", "./idp"),
        "idp/kustomization.yaml": "resources:\n  - rbac.yaml\n  # - job.yaml\n  - ns.yaml\n",
        "idp/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: idp\n",
        "idp/rbac.yaml": _READER,
        "idp/job.yaml": _JOB,
    }
    assert policy(make_repo(files), "rbac-workload-reads-all-secrets") == []
    listed = {**files, "idp/kustomization.yaml": "resources:\n  - rbac.yaml\n  - job.yaml\n  - ns.yaml\n"}
    assert policy(make_repo(listed), "rbac-workload-reads-all-secrets") == [("idp/rbac.yaml", 10)]


def test_a_secret_word_inside_another_word_is_no_secret(make_repo: RepoFactory) -> None:
    """``otp`` inside ``hotplug``; a one-time-password seed is still a secret."""
    tf = (
        'variable "hotplug" {\n  type    = string\n  default = "network,disk,usb"\n}\n'
        'variable "totp_seed" {\n  type    = string\n  default = "' + "JBSW" + "Y3DPEHPK3PXP" + '"\n}\n'
    )
    assert policy(make_repo({"vm/variables.tf": tf}), "terraform-secret-default") == [("vm/variables.tf", 7)]


def test_a_device_path_with_a_serial_number_is_no_token(make_repo: RepoFactory) -> None:
    """A Secret carrying Helm values whose only random-looking text is a device's serial number in
    a ``/dev/serial/by-id/`` path; the same values with a token beside it are still reported."""
    values = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: radio-values\nstringData:\n  values.yaml: |\n"
        "    persistence:\n      radio:\n        type: hostPath\n"
        "        hostPath: /dev/serial/by-id/usb-Example_Radio_Stick_" + "A1B2C3D4E5F6" + "Q7-if00\n"
        "        hostPathType: CharDevice\n"
    )
    assert policy(make_repo({"radio/values.yaml": values}), "plaintext-secret") == []
    token = values + "    apiToken: " + "tq8" + "Vw2Lr9Kd7Xp3Zm5Nb4Hc6" + "\n"
    assert policy(make_repo({"radio/values.yaml": token}), "plaintext-secret") == [("radio/values.yaml", 5)]


def test_a_leading_dotdot_in_a_flux_path_stays_inside_the_source(make_repo: RepoFactory) -> None:
    """kustomize-controller resolves ``spec.path`` with ``securejoin.SecureJoin(tmpDir, path)``
    (kustomization_controller.go), which clamps ``..`` at the artifact's root: ``../components``
    builds ``components``. A path missing after the clamp is still reported."""
    files = {
        "clusters/prod/issuers.yaml": ks("issuers", "../components/issuers"),
        "components/issuers/kustomization.yaml": "resources:\n  - issuer.yaml\n",
        "components/issuers/issuer.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: issuer\n",
    }
    assert flux(make_repo(files), "flux-path-missing") == []
    missing = {**files, "clusters/prod/more.yaml": ks("more", "../components/absent")}
    assert flux(make_repo(missing), "flux-path-missing") == [("clusters/prod/more.yaml", 8)]


def test_utf16_files_are_read_as_sops_reads_them_and_as_git_does_not(make_repo: RepoFactory) -> None:
    """A ``.sops.yaml`` and ``.gitignore`` saved as UTF-16 with a byte-order mark stopped both
    commands with an internal error. sops (go-yaml v3) reads such a ``.sops.yaml``; git reads a
    ``.gitignore`` as UTF-8 bytes, so a UTF-16 one ignores nothing (``git check-ignore``)."""
    rules = f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {AGE_VECTOR_RECIPIENT}\n"
    root = make_repo({".sops.yaml": rules.encode("utf-16"), ".gitignore": "*.agekey\n".encode("utf-16")},
                     gitignore=None)
    report = check_policy(root, only=["gitignore-agekey"])
    assert [v.path for v in report.violations] == [".gitignore"]
    assert "UTF-16" in report.violations[0].message
    assert flux(root, "flux-decryption-provider") == []  # no crash in the Flux checks either
    utf8 = make_repo({".sops.yaml": rules.encode("utf-16")}, gitignore="*.agekey\n")
    assert check_policy(utf8, only=["gitignore-agekey"]).violations == ()


def test_text_a_yaml_reader_rejects_is_a_parse_error_not_a_crash() -> None:
    from sopskit.policy.yamldocs import parse_yaml_documents

    parsed = parse_yaml_documents("a: b\x00c\n")
    assert parsed.documents == () and parsed.error


def test_a_url_whose_query_names_a_key_file_is_configuration(make_repo: RepoFactory) -> None:
    """``rediss://host:6379?ssl_keyfile=/var/run/.../tls.key``: no user info, and the query holds a
    path; a query that carries a token is still reported."""
    def secret(url: str) -> str:
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache\nstringData:\n  url: {url}\n"

    path_query = "rediss://cache.db.svc.cluster.local:6379?ssl_keyfile=/var/run/secrets/cache/tls.key"
    assert policy(make_repo({"cache/secret.yaml": secret(path_query)}), "plaintext-secret") == []
    token_query = "https://api.example.invalid/v1?access_token=" + "Zk3d9Qa7" + "Lm2Xw8Rt5Yb1"
    assert policy(make_repo({"cache/secret.yaml": secret(token_query)}), "plaintext-secret") == [
        ("cache/secret.yaml", 5)]


def test_a_value_without_a_letter_or_digit_holds_nothing(make_repo: RepoFactory) -> None:
    """A chart's ``GRAFANA_API_KEY: LQ==`` (base64 of ``-``, its "unset" marker) holds nothing; a
    one-character credential is still reported."""
    def secret(value: str) -> str:
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  GRAFANA_API_KEY: {value}\n"

    assert policy(make_repo({"app/secret.yaml": secret("LQ==")}), "plaintext-secret") == []
    assert policy(make_repo({"app/secret.yaml": secret("eA==")}), "plaintext-secret") == [("app/secret.yaml", 5)]


def test_a_secret_local_with_a_literal_is_committed_like_a_default(make_repo: RepoFactory) -> None:
    """``locals { db_password = "..." }`` (a miss of round 10); a key of a map a local builds
    (``secret_key`` naming a Secret's key), a reference and a key pair's access key are not."""
    password = "Rk8" + "vQ2mZ7"
    tf = (
        "locals {\n"
        f'  db_password      = "{password}"\n'  # 2
        '  minio_access_key = "storeadmin"\n'
        f'  minio_secret_key = "{password}x"\n'  # 4
        '  vcs_token        = "${var.vcs_token}"\n'
        "  env_vars = {\n    API_KEY = {\n"
        '      secret_name = "monitoring-secrets"\n      secret_key  = "api-key"\n    }\n  }\n'
        "}\n"
    )
    assert policy(make_repo({"stack/main.tf": tf}), "terraform-secret-default") == [
        ("stack/main.tf", 2), ("stack/main.tf", 4)]


def test_broken_yaml_beside_a_template_expression_is_reported(make_repo: RepoFactory) -> None:
    """Two anchors on one node is broken YAML whatever ``{{ .pg_user }}`` renders to (a miss of
    round 10); a file that fails only because of its template expressions is left out."""
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\ndata:\n"
    broken = head + '  DB_USER: &dbUser &dbuser "{{ .pg_user }}"\n'
    assert policy(make_repo({"db/config.yaml": broken}), "yaml-parse-error") == [("db/config.yaml", 6)]
    templated = head + "  {{ .key }}: {{ .value }}\n"
    assert policy(make_repo({"db/config.yaml": templated}), "yaml-parse-error") == []


def test_the_access_key_variable_of_a_key_pair_is_a_user_name(make_repo: RepoFactory) -> None:
    """``minio_access_key`` defaulted to the store's user name beside ``minio_secret_key``: the
    access key is the pair's identifier (round 10); its secret half, and an access key with no
    secret half beside it, are still reported."""
    secret = "Qm4" + "tR8wZ2"
    tf = (
        'variable "minio_access_key" {\n  default = "storeadmin"\n}\n'
        f'variable "minio_secret_key" {{\n  default = "{secret}"\n}}\n'
    )
    assert policy(make_repo({"store/variables.tf": tf}), "terraform-secret-default") == [("store/variables.tf", 5)]
    alone = f'variable "storage_access_key" {{\n  default = "{secret}"\n}}\n'
    assert policy(make_repo({"store/variables.tf": alone}), "terraform-secret-default") == [("store/variables.tf", 2)]


def test_a_demo_word_before_a_role_word_is_a_stand_in() -> None:
    """``demo-password`` beside ``demo-user`` in an example Secret (round 10): filler, like
    ``sample-pass``; a demo word before random text is not."""
    from sopskit.detectors.values import is_placeholder

    assert is_placeholder("demo-password") and is_placeholder("sample_secret")
    assert not is_placeholder("demo-" + "Xk29" + "dq7Lw")
