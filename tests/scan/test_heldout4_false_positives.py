"""False positives from a fifth held-out set of GitOps repositories (issue 8, round 4).

Each case is a minimised, made-up reproduction: every secret-looking value is drawn from a
seeded RNG or joined at run time (so the project's own scan stays clean), and each
non-detection is paired with a near-identical detection it must not cost.
"""

from __future__ import annotations

import math
import random
import string
import uuid
from pathlib import Path

import pytest

from sopskit.detectors import names, values
from sopskit.policy import credentials_in_text
from sopskit.scan import filters
from sopskit.scan.engine import shannon_entropy
from tests.scan.helpers import findings

RNG = random.Random(2026_12_04)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int) -> str:
    """A value the scanner sees as random (entropy gate, filler and name-shape filters)."""
    while True:
        value = "".join(RNG.choice(ALNUM) for _ in range(n))
        raw = value.encode()
        if (shannon_entropy(raw) >= min(3.6, 0.9 * math.log2(n)) and not filters.is_placeholder(raw)
                and not filters.is_name_like(raw) and any(c.isdigit() for c in value)
                and any(c.isupper() for c in value) and any(c.islower() for c in value)):
            return value


def _uuid() -> str:
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))



def _secret(entries: dict[str, str], name: str = "cluster-secrets") -> str:
    body = "".join(f"  {k}: {v}\n" for k, v in entries.items())
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: flux-system\nstringData:\n{body}"


def _lines(rule: str, path: str, result: list[tuple[str, str, int]]) -> set[int]:
    return {line for r, p, line in result if r == rule and p == path}


# ----------------------------------------------- 1. addresses, paths, identifiers in a Secret


def test_addresses_paths_and_id_uuids_of_a_settings_secret_are_no_credentials(tmp_path: Path) -> None:
    settings = {
        "SECRET_INGRESS_VIP": "10.20.30.40", "SECRET_NAS_BOX": '"192.168.7.254"',
        "SECRET_NFS_SERVER": "172.16.4.2", "SECRET_NFS_EXPORT": "/volume1/kubernetes/config",
        "SECRET_NFS_EXPORT_MEDIA": "/mnt/tank/Media", "SECRET_NODE_CIDR": "10.20.0.0/24",
        "SECRET_POD_V6_CIDR": "fd00:10:244::/56", "SECRET_TUNNEL_ID": _uuid(), "tunnelId": _uuid(),
    }
    assert findings(tmp_path, {"flux/vars/cluster-secrets.yaml": _secret(settings)}) == []


def test_a_credential_beside_them_and_a_uuid_under_a_credential_name_are_still_reported(tmp_path: Path) -> None:
    entries = {
        "SECRET_INGRESS_VIP": "10.20.30.40", "SECRET_NFS_EXPORT": "/volume1/kubernetes",
        "SECRET_TUNNEL_ID": _uuid(),
        "SECRET_API_KEY": _uuid(),  # some vendors' API keys are UUIDs
        "VAULT_SECRET_ID": _uuid(),  # an AppRole secret_id is a credential
        "SECRET_TUNNEL_TOKEN": _rand(32),
        "SECRET_KEY_FILE_LOOKALIKE": "/" + _rand(20),  # a token that starts with a slash is no path
    }
    result = findings(tmp_path, {"flux/vars/cluster-secrets.yaml": _secret(entries)})
    assert _lines("kubernetes-secret", "flux/vars/cluster-secrets.yaml", result) == {10, 11, 12, 13}


@pytest.mark.parametrize(
    ("value", "location"),
    [
        ("10.0.0.1", True), ("192.168.1.0/24", True), ("fd00::/8", True), ("::1", True),
        ("/volume1/kubernetes/data", True), ("/srv/nfs/", True),
        ("1234", False), ("dead:beef", False), ("10.0.0", False), ("10.0.0.1a", False),
        ("/aB3dE9fG2hJ", False), ("abc/def", False), ("/x9Yz/Q==", False),
    ],
)
def test_location_shapes(value: str, location: bool) -> None:
    assert values.is_location(value) is location


@pytest.mark.parametrize(
    ("key", "identifier"),
    [
        ("SECRET_CLOUDFLARE_TUNNEL_ID", True), ("tunnelId", True), ("zone-id", True), ("id", True),
        ("VAULT_SECRET_ID", False), ("api_key_id", False), ("token_id", False), ("ACCESS_KEY_ID", False),
        ("paid", False), ("valid", False), ("API_KEY", False),
    ],
)
def test_identifier_names(key: str, identifier: bool) -> None:
    assert names.is_identifier_name(key) is identifier


def test_scan_and_policy_agree_that_a_location_is_no_credential() -> None:
    """The policy judges a credential-named value the same way: a password slot holding an IP
    address or a mount path is a location; a random value there is a credential."""
    for value in ("10.0.0.7", "/run/secrets", "https://auth.homelab.internal"):
        assert not credentials_in_text.is_credential("password", value), value
        assert values.is_location(value)
    token = _rand(20)
    assert credentials_in_text.is_credential("password", token)
    assert not values.is_location(token)


# ----------------------------------------------------------------- 2. URLs as Secret values


def test_a_url_without_credentials_is_no_secret_value(tmp_path: Path) -> None:
    entries = {
        "OIDC_ISSUER": "https://auth.homelab.internal", "RADARR_URL": "http://radarr.downloads.svc.cluster.local:7878",
        "SONARR_URL": "http://sonarr.downloads:8989/api/v3", "S3_ENDPOINT": '"https://s3.homelab.internal"',
        "RADARR_API_KEY": '""',
    }
    assert findings(tmp_path, {"apps/app/secret.yaml": _secret(entries, "app")}) == []


def test_webhook_urls_and_url_passwords_are_still_reported(tmp_path: Path) -> None:
    slack = "https://hooks.slack.com/services/T" + _rand(8).upper() + "/B" + _rand(8).upper() + "/" + _rand(24)
    discord = ("https://discord.com/api/webhooks/" + "".join(RNG.choice(string.digits) for _ in range(18))
               + "/" + _rand(60))
    entries = {
        "SLACK_WEBHOOK": slack, "DISCORD_WEBHOOK": discord,
        "DATABASE_URL": f"postgres://app:{_rand(16)}@db.homelab.internal:5432/app",
        "HOOK": "https://ntfy.homelab.internal/" + _rand(24),
        "TOKEN_URL": "https://api.homelab.internal/v1/notify?token=" + _rand(24),
    }
    result = findings(tmp_path, {"apps/app/secret.yaml": _secret(entries, "app")})
    assert {line for _, _, line in result} == {7, 8, 9, 10, 11}
    assert _lines("kubernetes-secret", "apps/app/secret.yaml", result) >= {10, 11}


# ------------------------------------------------------------ 3. urn:k8s:secret references


def test_a_traefikoidc_secret_reference_is_no_value(tmp_path: Path) -> None:
    middleware = (
        "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata:\n  name: oidc\nspec:\n  plugin:\n"
        "    traefikoidc:\n      clientID: urn:k8s:secret:traefik-secrets:OIDC_CLIENT_ID\n"
        "      clientSecret: urn:k8s:secret:traefik-secrets:OIDC_CLIENT_SECRET\n"
        "      sessionEncryptionKey: urn:k8s:secret:traefik-secrets:SESSION_KEY\n"
        "      redis:\n        password: urn:k8s:secret:traefik-secrets:REDIS_PASSWORD\n"
    )
    comment = "# The middleware reads it via urn:k8s:secret:redis-auth:password.\n" + _secret({"password": "${PW}"})
    assert findings(tmp_path, {"oidc/middleware.yaml": middleware, "oidc/secret.yaml": comment}) == []
    assert values.is_reference("urn:k8s:secret:traefik-secrets:OIDC_CLIENT_SECRET")
    real = middleware.replace("urn:k8s:secret:traefik-secrets:OIDC_CLIENT_SECRET", _rand(32)).replace(
        "urn:k8s:secret:traefik-secrets:REDIS_PASSWORD", "Kettle" + _rand(6))
    result = findings(tmp_path / "real", {"oidc/middleware.yaml": real})
    assert {line for _, _, line in result} == {9, 12}
    # without the urn scheme, the same words carry a value
    prose = comment.replace("urn:k8s:secret:redis-auth:password", "k8s:secret:redis-auth:" + _rand(24))
    assert {line for _, _, line in findings(tmp_path / "prose", {"oidc/secret.yaml": prose})} == {1}
    # a template wrapping a literal is no reference: a commented-out Basic header still leaks
    tf = f'provider "app" {{\n  #authorization = "Basic ${{base64encode("pwd:{_rand(20)}")}}"\n}}\n'
    assert {line for _, _, line in findings(tmp_path / "tf", {"providers.tf": tf})} == {2}


# -------------------------------------------------------------- 4. Terraform type declarations


def test_a_terraform_type_declaration_is_no_password(tmp_path: Path) -> None:
    tf = ('variable "app" {\n  type = object({\n    username = string\n    password = string\n'
          "    api_password = optional(string)\n    passwords = list(string)\n  })\n}\n")
    assert findings(tmp_path, {"modules/app/variables.tf": tf}) == []
    real = tf.replace("password = string", f'password = "Kettle{_rand(6)}"')
    assert findings(tmp_path / "real", {"modules/app/variables.tf": real}) == [
        ("manifest-password", "modules/app/variables.tf", 4)]


# ------------------------------------------------------------------- 5. filler and phrases


@pytest.mark.parametrize("word", ["unused", "not-used", "notused", "not_used", "unset", "disabled", "UNUSED"])
def test_filler_words_are_placeholders(word: str) -> None:
    assert values.is_placeholder(word)
    assert not credentials_in_text.is_credential("password", word)


@pytest.mark.parametrize("phrase", ["value-from-authentik-provider", "set-by-operator", "from-vault",
                                    "provided-by-external-secrets"])
def test_a_where_it_comes_from_phrase_is_a_placeholder(phrase: str) -> None:
    assert values.is_placeholder(phrase)
    assert not credentials_in_text.is_credential("client_secret", phrase)


@pytest.mark.parametrize("value", ["testing", "foobar", "unused1", "from-" + "Kq7" + "x", "fromage-blanc9"])
def test_near_words_stay_credentials(value: str) -> None:
    assert not values.is_placeholder(value)


def test_filler_passwords_in_manifests(tmp_path: Path) -> None:
    helm = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  values:\n"
            "    mailer:\n      host: smtp-relay.default.svc.cluster.local\n      password: unused\n")
    doc = _secret({"clientId": "value-from-authentik-provider", "clientSecret": "value-from-authentik-provider"})
    assert findings(tmp_path, {"apps/app/helmrelease.yaml": helm, "docs/example.yaml": doc}) == []
    real = helm.replace("unused", "Kettle" + _rand(6))
    assert findings(tmp_path / "real", {"apps/app/helmrelease.yaml": real}) == [
        ("manifest-password", "apps/app/helmrelease.yaml", 9)]


# --------------------------------------------------------------- 6. elided sops ciphertext


def test_elided_ciphertext_notation_is_no_secret(tmp_path: Path) -> None:
    doc = "```yaml\n" + _secret({"CLIENT_ID": "ENC[AES256_GCM,data:...]", "CLIENT_SECRET": "ENC[AES256_GCM,data:xxx]"})
    doc += "```\n"
    assert findings(tmp_path, {"docs/README.md": doc}) == []
    assert findings(tmp_path / "real", {"docs/README.md": doc.replace("ENC[AES256_GCM,data:xxx]", _rand(32))}) == [
        ("kubernetes-secret", "docs/README.md", 9)]


# ----------------------------------------------------------------- 7. key-pair identifiers


def test_the_access_key_id_of_a_key_pair_is_no_secret(tmp_path: Path) -> None:
    weak = "minio" + _rand(4).lower() + "123"
    s3 = _secret({"S3_ACCESS_KEY_ID": "victoriametrics", "S3_SECRET_ACCESS_KEY": weak}, "s3")
    minio = _secret({"MINIO_ACCESS_KEY": "backup", "MINIO_SECRET_KEY": _rand(24)}, "minio")
    result = findings(tmp_path, {"a/s3.yaml": s3, "b/minio.yaml": minio})
    assert result == [("kubernetes-secret", "a/s3.yaml", 8), ("kubernetes-secret", "b/minio.yaml", 8)]
    # an access key with no secret half beside it (Azure's storage access key) is the credential
    alone = _secret({"AZURE_STORAGE_ACCESS_KEY": _rand(40)}, "azure")
    assert findings(tmp_path / "alone", {"c/azure.yaml": alone}) == [("kubernetes-secret", "c/azure.yaml", 7)]


def test_key_pair_identifiers_are_shared_with_the_policy() -> None:
    keys = ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "accessKeyId",
            "secretAccessKey", "primary_access_key"]
    assert names.key_pair_identifiers(keys) == {"S3_ACCESS_KEY_ID", "MINIO_ACCESS_KEY", "accessKeyId"}
