"""False positives from a third held-out set of GitOps repositories (issue 8, round 3).

Each case is a minimised, made-up reproduction: every secret-looking value is drawn from a
seeded RNG or joined at run time (so the project's own scan stays clean), and each
non-detection is paired with a near-identical detection it must not cost. The published
standard examples (RFC 6749's tokens) are not secrets by definition and are spelled out.
"""

from __future__ import annotations

import math
import random
import string
from pathlib import Path

import pytest

from sopskit.scan import filters
from sopskit.scan.engine import shannon_entropy
from tests.scan.helpers import findings

RNG = random.Random(2026_12_03)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def _rand(n: int, alphabet: str = ALNUM) -> str:
    """A random value that looks random to the scanner (the entropy gate, the filler and
    name-shape filters): a draw that happens to look like a word or a run is drawn again."""
    gate = 3.3 if alphabet == HEX else 3.6
    while True:
        value = "".join(RNG.choice(alphabet) for _ in range(n))
        raw = value.encode()
        if (shannon_entropy(raw) >= min(gate, 0.9 * math.log2(n)) and not filters.is_placeholder(raw)
                and not filters.is_name_like(raw) and any(c.isdigit() for c in value)):
            return value



# ----------------------------------------------------------------- URL query strings


def test_a_query_parameter_ends_at_the_next_ampersand(tmp_path: Path) -> None:
    doc = ("`http://localhost:5380/api/zones/list?token=x&pageNumber=1&zonesPerPage=10`\n"
           "`http://localhost:5380/api/user/create?token=x&user=admin&displayName=Administrator`\n"
           "`POST /api/settings/set?token=abc&proxyPassword=password&proxyBypass=127.0.0.0/8`\n")
    assert findings(tmp_path, {"docs/api.md": doc}) == []
    # the same URL carrying a real token is still a finding, and so is a password with a bare `&`
    real = f"`http://localhost:5380/api/zones/list?token={_rand(24)}&pageNumber=1`\n"
    assert findings(tmp_path, {"notes/real.md": real}) == [("generic-secret", "notes/real.md", 1)]


def test_query_value_cuts_only_at_a_next_parameter() -> None:
    assert filters.query_value(b"x&type=LastHour&utc=true") == b"x"
    assert filters.query_value(b"abcdefgh12&") == b"abcdefgh12"
    assert filters.query_value(b"pa&ss&word!") == b"pa&ss&word!"  # no `name=` after the `&`


# ----------------------------------------------------------------- documented examples


def test_the_oauth_rfc_example_tokens_are_not_secrets(tmp_path: Path) -> None:
    doc = ('```json\n{\n  "access_token": "2YotnFZFEjr1zCsicMWpAA",\n  "token_type": "Bearer",\n'
           '  "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA"\n}\n```\n\n```\n'
           'grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&\n'
           'client_id=s6BhdRkqt3&client_secret=7Fjfp0ZBr1KtDRbnfVdmIw\n```\n')
    assert findings(tmp_path, {"docs/oauth.md": doc}) == []
    real = f'```json\n{{\n  "access_token": "{_rand(22)}",\n  "token_type": "Bearer"\n}}\n```\n'
    assert findings(tmp_path, {"docs/real.md": real}) == [("generic-secret", "docs/real.md", 3)]


def test_a_partial_token_only_identifies_a_session(tmp_path: Path) -> None:
    listing = f'{{"sessions": [{{"username": "admin", "partialToken": "{_rand(16, HEX)}"}}]}}\n'
    assert findings(tmp_path, {"docs/sessions.md": listing}) == []
    whole = f'{{"sessions": [{{"username": "admin", "sessionToken": "{_rand(16, HEX)}"}}]}}\n'
    assert findings(tmp_path, {"docs/whole.md": whole}) == [("generic-secret", "docs/whole.md", 1)]


# ----------------------------------------------------------------- code


@pytest.mark.parametrize("line", [
    "\tplan.Secrets = buildBootstrapPlanSecrets(cfg, provider, options)\n",
    "\tsecretRows := make([][]string, 0, len(plan.Secrets))\n",
    "\tbootstrapResolveSecrets = resolve1PasswordReferences\n",
    "\toldSecret := get1PasswordSecretFn\n",
    "\tcfg := Config{ClientSecret: defaultClient2Secret, Region: r}\n",
])
def test_an_unquoted_value_in_source_code_is_an_expression(tmp_path: Path, line: str) -> None:
    assert findings(tmp_path, {"cmd/plan.go": f"package main\n\nfunc f() {{\n{line}}}\n"}) == []
    # the same line in a shell script or a config file is a literal assignment
    assert findings(tmp_path, {"env.sh": line.strip() + "\n"}) == [("generic-secret", "env.sh", 1)]


def test_a_quoted_or_commented_value_in_source_code_is_still_read(tmp_path: Path) -> None:
    token = _rand(28)
    code = f'package main\n\nvar apiToken = "{token}"\n\n// legacy: password = {_rand(20)}\n'
    assert findings(tmp_path, {"main.go": code}) == [("generic-secret", "main.go", 3), ("generic-secret", "main.go", 5)]
    python = f"API_KEY = os_token_{_rand(4, HEX)}\nSECRET = '{_rand(26)}'\n"
    assert findings(tmp_path, {"settings.py": python}) == [
        ("generic-secret", "main.go", 3), ("generic-secret", "main.go", 5), ("generic-secret", "settings.py", 2)]


# ----------------------------------------------------------------- names given as values


def test_environment_variable_names_are_not_secrets(tmp_path: Path) -> None:
    manifest = ("spec:\n  secret:\n    clientSecret: SPRING_SECURITY_OAUTH2_CLIENT_REGISTRATION_IDP_CLIENT_SECRET\n"
                "  data:\n    - match:\n        secretKey: APP__OIDC_CLIENT_SECRET\n")
    assert findings(tmp_path, {"app/oidcclient.yaml": manifest}) == []
    real = f"spec:\n  secret:\n    clientSecret: {_rand(32)}\n"
    assert findings(tmp_path, {"app/real.yaml": real}) == [("generic-secret", "app/real.yaml", 3)]


def test_a_doc_table_naming_secret_fields(tmp_path: Path) -> None:
    table = "| `/monitoring/remote` | basic auth: `username`, `password`, `password_sha1_b64` |\n"
    assert findings(tmp_path, {"docs/secrets.md": table}) == []
    real = f"| `/monitoring/remote` | basic auth: `username`, `password`, `{_rand(17)}` |\n"
    assert findings(tmp_path, {"docs/real.md": real}) == [("generic-secret", "docs/real.md", 1)]


def test_a_container_mount_of_a_secret_file(tmp_path: Path) -> None:
    script = ('docker run -d \\\n    -v "$WORK_DIR/api_token:/run/secrets/api_token:ro" \\\n'
              "    -v {{ config_dir }}/gh_token:/run/secrets/gh_token:ro \\\n    image\n")
    assert findings(tmp_path, {"deploy.sh": script}) == []
    real = f'docker run -e "GH_TOKEN={_rand(30)}" -v "$WORK_DIR/config:/config:ro" image\n'
    assert findings(tmp_path, {"real.sh": real}) == [("generic-secret", "real.sh", 1)]


# ----------------------------------------------------------------- sops coverage


@pytest.mark.parametrize("suffix", [".example", ".sample", ".template", ".dist"])
def test_a_copy_and_fill_in_template_of_a_sops_file(tmp_path: Path, suffix: str) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - path_regex: \\.sops\\.yaml\n    age: age1example\n")
    template = "# copy, fill in, then encrypt\nusers:\n  - name: someone\n    email: someone@example.com\n"
    assert findings(tmp_path, {f"terraform/users.sops.yaml{suffix}": template}, sops=True) == []
    assert findings(tmp_path, {"terraform/users.sops.yaml": template}, sops=True) == [
        ("sops-unencrypted-file", "terraform/users.sops.yaml", 3)]


def test_a_password_field_set_to_a_variable_name(tmp_path: Path) -> None:
    release = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: piped\nspec:\n"
               "  values:\n    database:\n      username: piped\n      password: {}\n")
    assert findings(tmp_path, {"apps/piped/helmrelease.yaml": release.format("DB_PASSWORD")}) == []
    assert findings(tmp_path, {"apps/other/helmrelease.yaml": release.format("Piped2024")}) == [
        ("manifest-password", "apps/other/helmrelease.yaml", 9)]


def test_xkcd_passphrase_is_a_documented_example(tmp_path: Path) -> None:
    code = 'package x\n\nconst secretLike = "password=correcthorsebatterystaple"\n'
    assert findings(tmp_path, {"redact_test.go": code}) == []
    real = f'package x\n\nconst secretLike = "password={_rand(25)}"\n'
    assert findings(tmp_path, {"real_test.go": real}) == [("generic-secret", "real_test.go", 3)]


# ----------------------------------------------------------------- Kustomize secretGenerator


def test_generator_settings_are_not_credentials(tmp_path: Path) -> None:
    kustomization = ("secretGenerator:\n  - name: backup\n    literals:\n      - AWS_REGION=garage\n"
                     "      - LOG_LEVEL=debug\n      - BUCKET=backups\n")
    assert findings(tmp_path, {"apps/kustomization.yaml": kustomization}) == []
    real = kustomization.replace("BUCKET=backups", f"RESTIC_PASSWORD={_rand(20)}")
    assert ("kustomize-secret-literal", "other/kustomization.yaml", 6) in findings(
        tmp_path, {"other/kustomization.yaml": real})


ALERTMANAGER = """global:
  resolve_timeout: 5m
route:
  receiver: chat
receivers:
  - name: chat
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


@pytest.mark.parametrize("config", [
    ALERTMANAGER.format(url="http://chat-relay.monitoring.svc.cluster.local:8080/alerts"),
    '{"connections": [{"label": "app", "host": "cache.db.svc.cluster.local", "port": "6379",\n'
    '  "password": "${CACHE_PASSWORD}", "dbIndex": 1}]}\n',
])
def test_a_generator_file_of_settings_only(tmp_path: Path, config: str) -> None:
    kustomization = "secretGenerator:\n  - name: app-config\n    files:\n      - config.yaml=resources/config.yaml\n"
    assert findings(tmp_path, {"apps/app/kustomization.yaml": kustomization,
                               "apps/app/resources/config.yaml": config}) == []


@pytest.mark.parametrize("config", [
    ALERTMANAGER.format(url=f"https://relay.invalid/hooks/{_rand(32)}"),
    ALERTMANAGER.replace("send_resolved: true", "send_resolved: true\n    pagerduty_configs:\n"
                         f"      - routing_key: {_rand(32)}"),
    '{"connections": [{"label": "app", "host": "cache.db.svc.cluster.local", "port": "6379",\n'
    '  "password": "' + _rand(12) + '", "dbIndex": 1}]}\n',
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" + _rand(70) + "\n-----END OPENSSH PRIVATE KEY-----\n",
])
def test_a_generator_file_with_a_credential(tmp_path: Path, config: str) -> None:
    kustomization = "secretGenerator:\n  - name: app-config\n    files:\n      - config.yaml=resources/config.yaml\n"
    found = findings(tmp_path, {"apps/app/kustomization.yaml": kustomization, "apps/app/resources/config.yaml": config})
    assert ("kustomize-secret-file", "apps/app/resources/config.yaml", 1) in found


def test_a_random_bare_value_in_code_is_still_a_finding(tmp_path: Path) -> None:
    # a .env fixture held by a raw string: the bare value is a literal, not an expression
    token = _rand(24)
    code = f'package x\n\nconst env = `\nAPI_TOKEN={token}\n`\n'
    assert findings(tmp_path, {"fixture_test.go": code}) == [("generic-secret", "fixture_test.go", 4)]


def test_is_expression() -> None:
    assert filters.is_expression(b"resolve1PasswordReferences")
    assert filters.is_expression(b"buildPlanSecrets(cfg")
    assert not filters.is_expression(b"aB3xK9mQ2pL7vR4tY8wZ")
