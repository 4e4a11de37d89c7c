"""The scanner and the policy checks answer "is this value a credential?" the same way.

Each value of the table is judged by both, through their own entry points: the scanner's
filters and a whole ``sopskit scan`` of a Helm values file, the policy's placeholder test and its
reading of a secretGenerator ``.env`` file. Real-looking values are generated at run time from a
seeded RNG, so the repository's own scan stays clean.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from sopskit.detectors import names, values
from sopskit.policy import credentials_in_text
from sopskit.policy.checks.credentials import is_vendored as credentials_is_vendored
from sopskit.policy.checks.terraform import is_secret_name
from sopskit.scan import ScanOptions, filters, kube, scan

RNG = random.Random(9_9)


def _random_token(n: int) -> str:
    """Mixed-case letters and digits, at least one of each (a real token's shape)."""
    while True:
        token = "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(n))
        if any(c.isdigit() for c in token) and any(c.islower() for c in token) and any(c.isupper() for c in token):
            return token


PLACEHOLDERS = [
    "changeme", "CHANGE_ME", "change-me-please", "changeit", "admin", "root", "true", "false", "null", "n/a", "TBD",
    "default", "<your-token>", "[PASSWORD]", "xxxxxxxx", "********", "your-api-key-here", "token-goes-here",
    "my-password-123", "mysecretpassword", "test-password", "supersecret", "password123", "secret2",
    "insecure-dev-key", "fake-token-value", "REPLACE_WITH_TOKEN", "TODO", "abcdef123456", "example-1730512600",
    "123456789", "base64encodedaccountkey", "AKIA" + "IOSFODNN7" + "EXAMPLE",
    "unused", "not-used", "unset", "disabled", "value-from-authentik-provider", "set-by-operator",
    "ENC[AES256_GCM,data:...]",
]
REFERENCES = [
    "op://Kubernetes/cloudflare/API_TOKEN2", "ref+sops://secrets.yaml#/db/password", "vault:secret/data/db#password",
    "<path:kv/data/db#password>", "${DB_PASSWORD}", "$DB_PASSWORD", "{{ .Values.db.password }}",
    "akv:my-vault/db-password", "awssm:prod/db#password", "gcpsm:projects/p/secrets/db",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db", "os.environ/OPENAI_API_KEY",
    "ak://prod/db/password", "azure://kv-prod/db-password", "secret://cloudflare-api-token",
    "urn:k8s:secret:traefik-secrets:OIDC_CLIENT_SECRET",
]
#: where something is, not a credential, whatever the key says (held-out set 5)
LOCATIONS = ["10.20.30.40", "10.20.0.0/24", "fd00:10:244::/56", "/volume1/kubernetes/config",
             "https://auth.homelab.internal", "http://radarr.media.svc.cluster.local:7878/api"]
CREDENTIALS = [
    _random_token(24), _random_token(40), "Zebra" + "-Kettle-" + str(RNG.randint(10, 99)),
    "k" + _random_token(11) + "!",
    # weak, but deployed: real repositories hold such passwords
    "mypass", "pass1234", "Password2024!", "testing", "foobar",
]


def _scan_says_stand_in(value: str) -> bool:
    raw = value.encode()
    return filters.is_placeholder(raw) or filters.is_reference(raw)


@pytest.mark.parametrize("value", PLACEHOLDERS + REFERENCES)
def test_a_stand_in_is_one_for_scan_and_policy(value: str) -> None:
    assert _scan_says_stand_in(value)
    assert credentials_in_text.is_placeholder(value)
    assert not credentials_in_text.is_credential("password", value)


@pytest.mark.parametrize("value", REFERENCES)
def test_a_reference_is_one_for_scan_and_policy(value: str) -> None:
    assert filters.is_reference(value.encode())
    assert values.is_reference(value)
    assert not credentials_in_text.is_material(value)  # ``op://.../API_TOKEN2`` is no random token


@pytest.mark.parametrize("value", CREDENTIALS)
def test_a_credential_is_one_for_scan_and_policy(value: str) -> None:
    assert not _scan_says_stand_in(value)
    assert not credentials_in_text.is_placeholder(value)
    assert credentials_in_text.is_credential("password", value)


def test_whole_commands_agree_on_every_value(tmp_path: Path) -> None:
    """``sopskit scan`` reports ``password: VALUE`` in a Helm values file exactly when the
    policy says a secretGenerator ``.env`` line ``DB_PASSWORD=VALUE`` holds a credential."""
    table = PLACEHOLDERS + REFERENCES + LOCATIONS + CREDENTIALS
    for i, value in enumerate(table):
        target = tmp_path / f"v{i}" / "values.yaml"
        target.parent.mkdir()
        target.write_text(f'auth:\n  password: "{value}"\n')
    report = scan(ScanOptions(paths=[tmp_path], sops_config=False))
    reported = {f.path.split("/")[-2] for f in report.findings}
    for i, value in enumerate(table):
        policy_reports = bool(credentials_in_text.file_holds_credential("app.env", f"DB_PASSWORD={value}\n"))
        assert (f"v{i}" in reported) is policy_reports is (value in CREDENTIALS), value


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("db_password", True), ("adminPassword", True), ("client_secret", True), ("api_token", True),
        ("auth", True), ("ssh-privatekey", True), ("connection_string", True), ("hmac-key", True),
        ("secretName", False), ("existing_secret", False), ("passwordFile", False), ("token-path", False),
        ("secret_arn", False), ("password_length", False), ("access_key_id", False), ("private_subnet", False),
        ("cookie_domain", False), ("region", False),
        ("auth_default_username", False),
    ],
)
def test_one_key_vocabulary_for_policy_and_terraform(key: str, credential: bool) -> None:
    assert names.is_credential_name(key) is credential
    assert credentials_in_text.is_credential_key(key) is credential
    assert is_secret_name(key) is credential


@pytest.mark.parametrize(
    ("key", "public"),
    [
        ("client_id", True), ("oidc_client_id", True), ("db_username", True), ("issuer_url", True),
        ("endpoint", True), ("public_key_openssh", True), ("ssh_pubkey", True), ("admin_login", True),
        ("client_secret", False), ("secret_id", False), ("api_key_id", False), ("password", False),
        ("token", False), ("private_key", False), ("access_key", False), ("generated", False),
    ],
)
def test_public_names_are_identifiers_addresses_and_public_keys(key: str, public: bool) -> None:
    """A client ID is public by design, the AppRole ``secret_id`` is a credential."""
    assert names.is_public_name(key) is public


@pytest.mark.parametrize(
    ("path", "vendored"),
    [
        ("vendor/github.com/x/y/key_test.go", True), ("web/node_modules/pkg/test/key.pem", True),
        ("ansible/ansible_collections/ns/coll/tests/id_rsa", True), ("infra/.terraform/modules/m/key.pem", True),
        ("a/third-party/lib/fixture.key", True), ("site/bower_components/x/k.js", True),
        ("kubernetes/apps/vendor.yaml", False), ("vendoring/notes.md", False), ("clusters/prod/secret.yaml", False),
    ],
)
def test_scan_and_policy_skip_the_same_vendored_paths(path: str, vendored: bool) -> None:
    assert filters.is_vendored(path) is vendored
    assert credentials_is_vendored(path) is vendored


def test_scan_and_policy_see_the_same_url_passwords() -> None:
    password = _random_token(16)
    urls = {
        f"redis://:{password}@redis:6379/0": True,
        f"https://ci:{password}@git.example.org/repo.git": True,
        f"rest:https://backup:{password}@nas:8000/": True,
        "https://registry.npmjs.org:443/@scope/pkg": False,  # a port, then a path holding "@"
        "postgres://app:${DB_PASSWORD}@db:5432/app": False,  # a reference
        "https://git.example.org/repo.git": False,
    }
    for url, has_password in urls.items():
        assert kube.is_identifying_key("repository", url.encode()) is not has_password, url
        assert credentials_in_text.is_material(url) is has_password, url


def _key_block() -> str:
    """A real PEM private key, made now (never committed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def test_the_private_key_check_and_the_value_check_agree_on_key_blocks(tmp_path: Path) -> None:
    """One rule for "a key block with material in it", read by the policy's private-key check
    (whole files, as bytes) and by its credential-value test (a value inside a manifest)."""
    from sopskit.policy import check_policy

    real = _key_block()
    elided = "-----BEGIN EC PRIVATE KEY-----\n...\n-----END EC PRIVATE KEY-----\n"
    assert credentials_in_text.is_material(real)
    assert not credentials_in_text.is_material(elided)
    for name, text in (("real.pem", real), ("elided.md", elided)):
        (tmp_path / name).write_text(text)
    found = {v.path for v in check_policy(tmp_path, only=["private-key"]).violations}
    assert found == {"real.pem"}


def test_public_keys_are_public_for_scan_and_policy_with_options_and_comments() -> None:
    """One rule (``values.is_public_material``) for the scanner's filter and ``plaintext-secret``:
    authorized_keys lines with options, known_hosts lines and ``#`` comments between them hold
    nothing secret; the same lines with a private key block after them do."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    listing = (f"# deploy keys\nno-pty,command=\"echo hi there\" {public} ci@example.invalid\n"
               f"github.com,140.82.112.3 {public}\n")
    assert values.is_public_material(listing)
    assert filters.is_public_material(listing.encode())
    assert not credentials_in_text.is_secret_value("authorized_keys", listing)
    with_key = listing + private
    assert not values.is_public_material(with_key)
    assert not filters.is_public_material(with_key.encode())
    assert credentials_in_text.is_secret_value("authorized_keys", with_key)
