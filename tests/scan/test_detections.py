"""Detections and non-detections from issue 8 / 11, each a minimised made-up reproduction of a
miss or false positive seen on real GitOps repositories or gitleaks's rule examples.

Every credential is generated at test time from a seeded RNG (never a real one)."""

from __future__ import annotations

import base64
import json
import os
import random
import string
import struct
import subprocess
import time
from pathlib import Path

import pytest

from sopskit.scan import ScanOptions, parse_rules, scan
from tests.conftest import require_tool
from tests.scan.fakes import BECH32, BECH32_UPPER
from tests.scan.helpers import findings

RNG = random.Random(8_11)
ALNUM = string.ascii_letters + string.digits


def _rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def openssh_key(comment: str = "flux@cluster") -> str:
    """An ``ssh-keygen``-shaped (default OpenSSH format) ed25519 key with random key bytes."""
    def s(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b
    pub = s(b"ssh-ed25519") + s(RNG.randbytes(32))
    check = RNG.randbytes(4)
    priv = check + check + s(b"ssh-ed25519") + s(RNG.randbytes(32)) + s(RNG.randbytes(64)) + s(comment.encode())
    priv += bytes(range(1, 1 + (-len(priv)) % 8))
    blob = b"openssh-key-v1\0" + s(b"none") + s(b"none") + s(b"") + struct.pack(">I", 1) + s(pub) + s(priv)
    b64 = base64.b64encode(blob).decode()
    assert "AAAAAA" in b64  # the run that used to make the placeholder filter drop every such key
    body = "\n".join(b64[i:i + 70] for i in range(0, len(b64), 70))
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


def pem(label: str, dashes: str = "-----", space: str = "") -> str:
    b64 = base64.b64encode(RNG.randbytes(300)).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"{dashes}{space}BEGIN {label}{space}{dashes}\n{body}\n{dashes}{space}END {label}{space}{dashes}\n"



def test_flux_deploy_key_secret_reports_the_private_key_not_the_public_half(tmp_path: Path) -> None:
    key = openssh_key()
    indented = "".join(f"    {ln}\n" for ln in key.splitlines())
    pub = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{_rand(ALNUM, 43)} flux"
    hosts = f"github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAI{_rand(ALNUM, 40)}="
    manifest = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\n  namespace: flux-system\n"
                f"stringData:\n  identity: |\n{indented}  identity.pub: {pub}\n  known_hosts: {hosts}\n")
    assert findings(tmp_path, {"clusters/deploy-key.yaml": manifest, "id_ed25519": key}) == [
        ("private-key", "clusters/deploy-key.yaml", 8), ("private-key", "id_ed25519", 1)]


@pytest.mark.parametrize(("label", "dashes", "space"), [
    ("RSA PRIVATE KEY", "-----", ""), ("EC PRIVATE KEY", "-----", ""), ("PRIVATE KEY", "-----", ""),
    ("ENCRYPTED PRIVATE KEY", "-----", ""), ("DSA PRIVATE KEY", "-----", ""), ("OPENSSH PRIVATE KEY", "-----", ""),
    ("PGP PRIVATE KEY BLOCK", "-----", ""), ("SSH2 ENCRYPTED PRIVATE KEY", "----", " "),
    ("RSA PRIVATE KEY", "----", ""), ("X25519_PRIVATE KEY", "-----", ""),
])
def test_every_pem_kind_whatever_its_padding(tmp_path: Path, label: str, dashes: str, space: str) -> None:
    assert findings(tmp_path, {"key.pem": pem(label, dashes, space)}) == [("private-key", "key.pem", 1)]


def test_json_escaped_key_and_placeholder_key(tmp_path: Path) -> None:
    escaped = json.dumps({"key": pem("PRIVATE KEY")})
    placeholder = ("-----BEGIN PRIVATE KEY-----\n<paste your private key here, it is long enough>\n"
                   "-----END PRIVATE KEY-----\n")
    assert findings(tmp_path, {"a.json": escaped, "b.md": placeholder}) == [("private-key", "a.json", 1)]


def test_base64_wrapped_keys_and_tokens(tmp_path: Path) -> None:
    key_b64 = base64.b64encode(pem("RSA PRIVATE KEY").encode()).decode()
    cert_b64 = base64.b64encode(pem("CERTIFICATE").encode()).decode()
    kubeconfig = ("apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
                  f"    client-certificate-data: {cert_b64}\n    client-key-data: {key_b64}\n")
    token = "ghp_" + _rand(ALNUM, 36)
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\ndata:\n"
              f"  token: {base64.b64encode(token.encode()).decode()}\n"
              f"  ca.crt: {cert_b64}\n")
    assert findings(tmp_path, {"kubeconfig": kubeconfig, "gh.yaml": secret}) == [
        ("github-token", "gh.yaml", 6), ("private-key", "kubeconfig", 7)]


def test_secrets_written_as_json(tmp_path: Path) -> None:
    pw = _rand(ALNUM, 20)
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
         "stringData": {"password": pw, "templ": "${DB_PASSWORD}"}}]}
    text = json.dumps(doc, indent=2)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if pw in ln)
    assert findings(tmp_path, {"db.json": text}) == [("kubernetes-secret", "db.json", line)]


def test_post_quantum_age_identity_found_recipients_never(tmp_path: Path) -> None:
    identity = "AGE-SECRET-KEY-PQ-1" + _rand(BECH32_UPPER, 58)
    classic = "AGE-SECRET-KEY-1" + _rand(BECH32_UPPER, 58)
    recipients = [
        "age1" + _rand(BECH32, 58),
        "age1pq1" + _rand(BECH32, 1950),
        "age1tag1" + _rand(BECH32, 60),
        "age1tagpq1" + _rand(BECH32, 1960),
    ]
    keys = f"# created: 2026-01-01\n# public key: {recipients[1]}\n{identity}\n{classic}\n"
    sops_yaml = "creation_rules:\n" + "".join(f"  - age: {r}\n" for r in recipients) + \
        "".join(f"recipient_{i}: {r}\napi_key: {r}\n" for i, r in enumerate(recipients))
    assert findings(tmp_path, {"keys.txt": keys, "recipients.yaml": sops_yaml}) == [
        ("age-secret-key", "keys.txt", 3), ("age-secret-key", "keys.txt", 4)]


def test_provider_tokens_added(tmp_path: Path) -> None:
    files = {
        "slack.env": f"SLACK_REFRESH=xoxe-1-{_rand(ALNUM, 146)}\n"
                     f"SLACK_CONFIG=xoxe.xoxp-1-{_rand(ALNUM, 164)}\n",
        "vault.env": f"VAULT_TOKEN=hvs.{_rand(ALNUM, 95)}\nBATCH=hvb.{_rand(ALNUM, 150)}\n",  # sopskit:allow
        "azure.env": f"AZURE_CLIENT_SECRET={_rand(ALNUM, 3)}8Q~{_rand(ALNUM + '_~.-', 34)}\n",  # sopskit:allow
    }
    assert findings(tmp_path, files) == [
        ("azure-ad-client-secret", "azure.env", 1), ("slack-token", "slack.env", 1), ("slack-token", "slack.env", 2),
        ("vault-token", "vault.env", 1), ("vault-token", "vault.env", 2)]


def test_human_passwords_in_manifests_and_helm_values(tmp_path: Path) -> None:
    files = {
        "apps/grafana/values.yaml": "adminUser: admin\nadminPassword: summer2024\nexistingSecret: grafana-admin\n"
                                    "passwordKey: admin-password\npassword: \"{{ .Values.pw }}\"\n",
        "apps/db/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
                               "      containers:\n        - name: db\n          env:\n"
                               "            - name: POSTGRES_PASSWORD\n              value: hunter22\n"
                               "            - name: POSTGRES_USER\n              value: app\n"
                               "            - name: PGPASSWORD\n              value: ${DB_PASSWORD}\n",
        "apps/db/release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  values:\n"
                                "    auth:\n      password: op://vault/db/password\n      rootPassword: ref+sops://x.yaml#/pw\n"
                                "      passwordSecretRef: db-secret\n",
        "notes/readme.yaml": "password: summer2024\n",  # neither a manifest nor Helm values
    }
    assert findings(tmp_path, files) == [
        ("manifest-password", "apps/db/deploy.yaml", 10), ("manifest-password", "apps/grafana/values.yaml", 2)]


def test_sops_encrypted_values_file_has_no_password_finding(tmp_path: Path) -> None:
    enc = "ENC[AES256_GCM,data:" + _rand(ALNUM, 12) + ",iv:" + _rand(ALNUM, 43) + "=,tag:" + _rand(ALNUM, 22) \
        + "==,type:str]"
    text = (f"adminPassword: {enc}\nsops:\n    age:\n        - recipient: age1{_rand(BECH32, 58)}\n"
            f"    mac: {enc}\n    encrypted_regex: ^(adminPassword)$\n    version: 3.9.0\n")
    assert findings(tmp_path, {"values.yaml": text}) == []


@pytest.mark.parametrize("line", [
    "secretName: cluster-tls-{r}",
    "  existingSecret: grafana-admin-credentials",
    "tls-secret-name: wildcard-prod-cert",
    "secretKey: AWS_SECRET_ACCESS_KEY",
    "      secretKey: cloudflare-api-token",
    "token: ${{CLOUDFLARE_TOKEN_{R}}}",
    "password: op://Private/{r}/password",
    "api_key: os.environ/OPENAI_API_KEY_{R}",
    "secret: {{{{ .Values.secret{r} }}}}",
    "secret: {{% raw %}}{r}{{% endraw %}}",
    "token: ref+awssecrets://prod/{r}",
    "webhookSecretRef: {r}",
    "publicToken = \"{r}\"",
    "csrf-token={r}",
])
def test_generic_rule_silent_on_names_references_and_templates(tmp_path: Path, line: str) -> None:
    r = _rand(ALNUM, 24) + "7"
    text = line.replace("{r}", r).replace("{R}", r.upper()) + "\n"
    assert findings(tmp_path, {"conf.yaml": text}) == [], text


@pytest.mark.parametrize("line", [
    "_CREDENTIALS: dict[tuple[Any, str], Any] = {}",
    "    secret_tokens: Mapping[str, list[int]] = field(default_factory=dict)",
    '    r"(?i)^(secretsmanager:GetSecretValue|ssm:GetParameters?|"',
])
def test_generic_rule_silent_on_type_annotations_and_regex_source(tmp_path: Path, line: str) -> None:
    # made-up reductions of two findings on sopskit's own source
    assert findings(tmp_path, {"code.py": line + "\n"}) == [], line


def test_brackets_and_pipes_in_a_real_value_are_still_found(tmp_path: Path) -> None:
    value = "Xq7[" + _rand(ALNUM, 20) + "|9z"
    assert findings(tmp_path, {"c.yaml": f"password: {value}\n"}) == [("generic-secret", "c.yaml", 1)]


def test_generic_rule_never_takes_the_next_line(tmp_path: Path) -> None:
    value = _rand(ALNUM, 30) + "9"
    assert findings(tmp_path, {"a.yaml": f"password:\n  {value}\ntoken:\n{value}\n"}) == []
    assert findings(tmp_path, {"b.yaml": f"password: {value}\n"}) == [("generic-secret", "b.yaml", 1)]


def test_generic_rule_reads_language_assignments(tmp_path: Path) -> None:
    v = _rand(ALNUM, 30) + "3"
    lines = [f'var fooToken string = "{v}"', f"FOO_TOKEN ?= \"{v}\"", f"$fooToken .= \"{v}\"",
             f'System.setProperty("FOO_TOKEN", "{v}")', f"foo_TOKEN ::= \"{v}\"", f"fooToken := `{v}`"]
    files = {f"f{i}.txt": ln + "\n" for i, ln in enumerate(lines)}
    assert [f[1] for f in findings(tmp_path, files)] == sorted(files)


def test_generic_rule_exempt_paths(tmp_path: Path) -> None:
    v = _rand(ALNUM, 30) + "5"
    minified = ("var a={token:\"" + v + "\"};" + "x" * 5000 + "\n").encode()
    files: dict[str, str | bytes] = {
        "go.sum": f"example.com/mod v1.0.0 h1:{v}=\n",
        "vendor/lib/conf.go": f'token := "{v}"\nkey := "ghp_{v[:36]}"\n',
        "node_modules/pkg/test/key.pem": pem("RSA PRIVATE KEY"),
        "web/app.min.js": f'var token="{v}";\n',
        "web/bundle.js": minified,
        "app/conf.go": f'token := "{v}"\n',
    }
    assert findings(tmp_path, files) == [("generic-secret", "app/conf.go", 1)]


def test_allowlisted_generic_match_keeps_the_specific_finding(tmp_path: Path) -> None:
    rules = parse_rules(
        "[extend]\nuseDefault = true\n"
        "[[rules]]\nid = 'generic-secret'\nregex = '''(?i)token\\s*=\\s*([A-Za-z0-9_]{20,})'''\nsecretGroup = 1\n"
        "tags = ['generic']\n[rules.allowlist]\nregexes = ['''^ghp_''']\n"
    )
    token = "ghp_" + _rand(ALNUM, 36)
    (tmp_path / "a.env").write_text(f"token = {token}\n")
    report = scan(ScanOptions(paths=[tmp_path], ruleset=rules, sops_config=False))
    assert [(f.rule_id, f.line) for f in report.findings] == [("github-token", 1)]


def test_fifo_socket_and_device_are_skipped(tmp_path: Path) -> None:
    token = "ghp_" + _rand(ALNUM, 36)
    (tmp_path / "leak.env").write_text(f"T={token}\n")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dev").symlink_to("/dev/zero")
    started = time.monotonic()
    report = scan(ScanOptions(paths=[tmp_path], sops_config=False))
    assert time.monotonic() - started < 10
    assert [f.path for f in report.findings] == ["leak.env"]
    assert report.stats.skipped["not-a-file"] == 1 and report.stats.skipped["symlink"] == 1


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_bare_repository_history_and_symlinked_path(tmp_path: Path) -> None:
    require_tool("git")
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    token = "ghp_" + _rand(ALNUM, 36)
    (work / "sub").mkdir()
    (work / "sub" / "leak.env").write_text(f"T={token}\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "x")
    _git(tmp_path, "clone", "-q", "--bare", str(work), "bare.git")
    report = scan(ScanOptions(paths=[tmp_path / "bare.git"], worktree=False, history=True, sops_config=False))
    assert [(f.rule_id, f.path) for f in report.findings] == [("github-token", "sub/leak.env")]
    (tmp_path / "link").symlink_to(work)
    for target in (tmp_path / "link" / "sub", tmp_path / "link" / "sub" / "leak.env"):
        report = scan(ScanOptions(paths=[target]))
        assert [(f.rule_id, f.path) for f in report.findings] == [("github-token", "sub/leak.env")]
    history = scan(ScanOptions(paths=[tmp_path / "link"], worktree=False, history=True))
    assert [f.path for f in history.findings] == ["sub/leak.env"]


def test_talos_secrets_committed_in_a_half_encrypted_sops_file(tmp_path: Path) -> None:
    """Base64-wrapped PEM keys and an encryption key as plain values of a file that has sops
    metadata: decoded and reported (the metadata block itself is never decoded)."""
    enc = "ENC[AES256_GCM,data:" + _rand(ALNUM, 12) + ",iv:" + _rand(ALNUM, 43) + "=,tag:" + _rand(ALNUM, 22) \
        + "==,type:str]"
    key_b64 = base64.b64encode(pem("EC PRIVATE KEY").encode()).decode()
    aes = base64.b64encode(RNG.randbytes(32)).decode()
    text = (f"aescbcEncryptionKey: {aes}\nclusterCertKey: {key_b64}\nclusterName: home\ndomain: {enc}\n"
            f"sops:\n    age:\n        - recipient: age1{_rand(BECH32, 58)}\n    mac: {enc}\n"
            "    unencrypted_regex: ^(clusterName)$\n    version: 3.7.1\n")
    got = findings(tmp_path, {"talos/talenv.sops.yaml": text})
    assert ("private-key", "talos/talenv.sops.yaml", 2) in got
    assert {f[2] for f in got} == {1, 2}


def test_terraform_password_literal_but_not_expressions(tmp_path: Path) -> None:
    tf = ('resource "proxmox_vm_qemu" "vm" {\n  pm_password = "Summer2024"\n  password = var.vm_password\n'
          '  admin_password = random_password.admin.result\n  db_password = "${var.db}"\n}\n')
    assert findings(tmp_path, {"infra/main.tf": tf}) == [("manifest-password", "infra/main.tf", 2)]


@pytest.mark.parametrize("text", [
    "  env:\n    - name: DOCKER_VERNEMQ_PLUGINS__VMQ_PASSWD__PASSWORD_FILE\n      value: /vernemq/auth/vmq.passwd\n",
    "  auth:\n    passwordFile: /run/secrets/db\n    password: /etc/app/password.txt\n",
])
def test_password_file_paths_are_not_passwords(tmp_path: Path, text: str) -> None:
    manifest = "apiVersion: apps/v1\nkind: Deployment\nspec:\n" + text
    assert findings(tmp_path, {"deploy.yaml": manifest}) == []


def test_terraform_expression_is_not_a_secret(tmp_path: Path) -> None:
    tf = '  user_secret = local.minio_users[index(local.minio_users.*.label, "thanos_secret_key")].value\n'
    assert findings(tmp_path, {"minio.tf": tf}) == []


@pytest.mark.parametrize(("name", "text"), [
    ("Taskfile.yaml", "includes:\n  external-secrets: .taskfiles/ExternalSecrets\n"),
    ("helmrelease.yaml", "values:\n  connect:\n    credentialsKey: 1password-credentials.json\n"),
    ("secret.yaml", "apiVersion: v1\nkind: Secret\nstringData:\n  AWESOME_SECRET: \"SUPER SECRET VALUE\"\n"),
])
def test_paths_file_names_and_sample_values(tmp_path: Path, name: str, text: str) -> None:
    assert findings(tmp_path, {name: text}) == []


def test_a_schema_pattern_for_keys_is_not_a_key(tmp_path: Path) -> None:
    cue = ('    privateKey?: string & =~ """\n        ^-----BEGIN OPENSSH PRIVATE KEY-----\n'
           '        ([A-Za-z0-9+/=]{1,76}\\\\n)*[A-Za-z0-9+/=]{1,76}\n'
           '        -----END OPENSSH PRIVATE KEY-----$\n    """\n')
    assert findings(tmp_path, {"config.schema.cue": cue}) == []


def test_held_out_false_positives(tmp_path: Path) -> None:
    """Seen on a repository held out from tuning: boolean password options, 'no password'
    values, and a manifest encrypted by an old sops that did not record its encrypted_regex."""
    enc = "ENC[AES256_GCM,data:" + _rand(ALNUM, 12) + ",iv:" + _rand(ALNUM, 43) + "=,tag:" + _rand(ALNUM, 22) \
        + "==,type:str]"
    files = {
        "sync.yaml": 'apiVersion: apps/v1\nkind: StatefulSet\ndata:\n  cfg: |\n      "allow_empty_password" : false,\n',
        "mqtt.yaml": "apiVersion: v1\nkind: ConfigMap\ndata:\n  password: nopasswordneeded\n",
        "basic-auth.yaml": f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: basic-auth\ndata:\n    auth: {enc}\n"
                           f"sops:\n    mac: {enc}\n    lastmodified: '2020-01-01T00:00:00Z'\n    version: 3.5.0\n",
    }
    assert findings(tmp_path, files) == []


def test_held_out_misses_and_false_positives_after_freeze(tmp_path: Path) -> None:
    """Held-out repositories, after measuring: a signing key under a mistyped field of a sops
    file (a miss), base64 of a ${VAR} reference, a checksum annotation, a home-relative path."""
    signing = base64.b64encode(f"ed25519 a_{_rand(ALNUM, 4)} {_rand(ALNUM, 43)}".encode()).decode()
    ref = base64.b64encode(b"${SECRET_GRAFANA_PASSWORD}").decode()
    files = {
        "synapse.yaml": f"apiVersion: v1\nkind: Secret\nstring:\n  signing.key: {signing}\n",
        "grafana.yaml": f"apiVersion: v1\nkind: Secret\ndata:\n  admin-password: \"{ref}\"\n",
        "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    metadata:\n      annotations:\n"
                       f"        checksum/secret: {_rand('0123456789abcdef', 64)}\n",
        "Taskfile.yaml": f"env:\n  GOOGLE_APPLICATION_CREDENTIALS: ~/project-{_rand('0123456789abcdef', 12)}.json\n",
    }
    assert findings(tmp_path, files) == [("generic-secret", "synapse.yaml", 4)]


def test_tuning_false_positives_in_secrets_and_sops_files(tmp_path: Path) -> None:
    """Minimised from the tuning repositories: makejinja/Jinja templates, 1Password references,
    usernames, a whole scrape config and example entries in Secrets; ``ENC[]`` in a sops file;
    key names quoted inside a value; a regular expression for database URLs."""
    enc = "ENC[AES256_GCM,data:" + _rand(ALNUM, 12) + ",iv:" + _rand(ALNUM, 43) + "=,tag:" + _rand(ALNUM, 22) \
        + "==,type:str]"
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
              '  api-token: "#{ dns.token }#"\n  identity: |\n    #% filter indent(width=4) %#\n'
              "    #{ deploy_key() }#\n    #% endfilter %#\n"
              "  token: op://kubernetes/1password/OP_CONNECT_TOKEN\n  username: billimek\n"
              "  SECRET_EXAMPLE: Global secrets for your cluster go in this file, it is encrypted\n"
              "  prometheus-additional.yaml: |\n    - job_name: blocky\n      scrape_interval: 1m\n"
              "      static_configs:\n        - targets:\n            - 10.1.1.11:4000\n")
    files = {
        "template/secret.sops.yaml.j2": secret,
        "talos/talenv.sops.yaml": f"clusterToken: ENC[]\nsops:\n    mac: {enc}\n    version: 3.7.1\n",
        "prompts/monitoring.yaml": 'env:\n  SECRET_KEYS: "ADMIN_PASSWORD: \\"{{ .GRAFANA_ADMIN_PASSWORD }}\\""\n',
        "audit/audit.go": 're := regexp.MustCompile("postgres://(.*?):(.*?)@(.*)/(.*)")\n',
    }
    assert findings(tmp_path, files) == []


def test_a_candidate_match_never_shows_its_secret_in_a_repr() -> None:
    from sopskit.scan.detect import _Candidate

    candidate = _Candidate("rule", 3, b"hunter2-secret-value", 0, match=b"pw=hunter2-secret-value",
                           line_text=b"pw=hunter2-secret-value # x")
    assert "hunter2" not in repr(candidate) and "rule" in repr(candidate)
