"""Azure Key Vault end to end: the sopskit CLI and the unmodified ``azure-keyvault-keys`` SDK
against the fake vault of ``testing/azure_kv_server.py``.

The SDK reaches ``https://sopskit-test.vault.azure.net`` through the fake's CONNECT proxy
(``HTTPS_PROXY``), trusts the test CA through ``REQUESTS_CA_BUNDLE`` and gets its bearer token
from :class:`FakeCredential`, patched in for ``DefaultAzureCredential`` (Azure AD itself is not
faked). What sops does, from ``azkv/keysource.go``: ``Encrypt``/``Decrypt`` (not wrap/unwrap)
with RSA-OAEP-256, ``enc`` in unpadded URL-safe base64, an unversioned key URL resolved to the
key's current version with ``GetKey`` and that version written to the metadata, the record's
fields sorted as sops 3.13+ writes them (``stores/metadata.go`` ``goToSops`` sorts every map:
created_at, enc, name, vault_url, version).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sopskit.cli.main import main
from testing.azure_kv_server import VAULT_DNS_NAMES, FakeCredential, FakeKeyVault, Principal
from testing.certs import TlsFiles, make_tls_files
from tests.conftest import require_module, require_tool

VAULT = "https://sopskit-test.vault.azure.net"
PLAIN = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: hunter2-XYZ\n"
AZKV_FIELDS = ["created_at", "enc", "name", "vault_url", "version"]
OAEP256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@pytest.fixture(scope="session")
def azure_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    require_tool("openssl")
    return make_tls_files(tmp_path_factory.mktemp("azure-tls"), dns_names=VAULT_DNS_NAMES)


@pytest.fixture()
def azure_vault(azure_tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKeyVault]:
    """A running fake vault with key ``sops``; the SDK's credential is :class:`FakeCredential`."""
    require_module("azure.keyvault.keys")
    identity = require_module("azure.identity")
    # the SDK remembers each host's challenge for the whole process: start every test without,
    # so the challenge flow is exercised whatever ran before (xdist mixes modules)
    from azure.keyvault.keys._shared import http_challenge_cache

    http_challenge_cache.clear()
    with FakeKeyVault(azure_tls) as vault:
        vault.add_key("sops")
        monkeypatch.setattr(FakeCredential, "token", vault.grant(Principal("sops-user")))
        monkeypatch.setattr(FakeCredential, "error", None)
        monkeypatch.setattr(FakeCredential, "calls", [])
        monkeypatch.setattr(identity, "DefaultAzureCredential", FakeCredential)
        monkeypatch.setenv("HTTPS_PROXY", vault.proxy_url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_tls.ca_cert))
        for var in ("NO_PROXY", "no_proxy", "https_proxy", "CURL_CA_BUNDLE", "SOPS_DECRYPTION_ORDER",
                    "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AZURE_KEYVAULT_URLS"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", "/nonexistent/sopskit-test-keys.txt")
        yield vault


def cli(capsys: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    """Run the sopskit CLI in-process (the patched credential is visible); (code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err.decode()


def encrypt(capsys: Any, tmp_path: Path, *keys: str, name: str = "secret.yaml") -> Path:
    plain = tmp_path / name
    plain.write_bytes(PLAIN)
    code, out, err = cli(capsys, "encrypt", *keys, str(plain))
    assert code == 0, err
    plain.write_bytes(out)
    return plain


def azure_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = yaml.safe_load(path.read_bytes())["sops"]["azure_kv"]
    return records


def test_encrypt_decrypt_through_the_sdk(azure_vault: FakeKeyVault, tmp_path: Path,
                                         capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops")
    [record] = azure_records(path)
    v1 = azure_vault.latest("sops")
    assert list(record) == AZKV_FIELDS
    assert (record["vault_url"], record["name"], record["version"]) == (VAULT, "sops", v1)
    # enc is unpadded URL-safe base64 of an RSA-OAEP-256 ciphertext the vault's key opens
    assert "=" not in record["enc"] and "+" not in record["enc"] and "/" not in record["enc"]
    blob = base64.urlsafe_b64decode(record["enc"] + "=" * (-len(record["enc"]) % 4))
    assert len(blob) == 256
    assert len(azure_vault.keys["sops"][0].private.decrypt(blob, OAEP256)) == 32
    # the SDK met the bearer challenge, asked the credential for the vault scope and tenant
    assert FakeCredential.calls and FakeCredential.calls[0][0] == ("https://vault.azure.net/.default",)
    assert azure_vault.count("get") >= 1 and azure_vault.count(None, status=401) >= 1

    code, out, err = cli(capsysbinary, "decrypt", str(path))
    assert code == 0, err
    assert out == PLAIN
    decrypts = [r for r in azure_vault.requests if r.operation == "decrypt" and r.status == 200]
    assert [r.path for r in decrypts] == [f"/keys/sops/{v1}/decrypt"]


def test_version_pinning_survives_rotation(azure_vault: FakeKeyVault, tmp_path: Path,
                                           capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    v1 = azure_vault.latest("sops")
    old = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops", name="old.yaml")
    v2 = azure_vault.rotate("sops")
    assert v2 != v1
    # an unversioned URL now resolves to the new current version (sops: GetKey, then KID.Version())
    new = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops", name="new.yaml")
    assert azure_records(new)[0]["version"] == v2
    # an explicit version stays pinned even though it is no longer current
    pinned = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops/{v1}", name="pinned.yaml")
    assert azure_records(pinned)[0]["version"] == v1
    for path, version in ((old, v1), (new, v2), (pinned, v1)):
        before = len(azure_vault.requests)
        code, out, err = cli(capsysbinary, "decrypt", str(path))
        assert code == 0, err
        assert out == PLAIN
        assert [r.path for r in azure_vault.requests[before:] if r.operation == "decrypt"] == [
            f"/keys/sops/{version}/decrypt"]


def test_metadata_record_round_trips_byte_for_byte(azure_vault: FakeKeyVault, tmp_path: Path,
                                                   capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops")
    text = path.read_text()
    block = text[text.index("    azure_kv:"):text.index("    lastmodified:")]
    # the YAML sops writes: a list under azure_kv, fields sorted, created_at RFC 3339 UTC
    lines = block.splitlines()
    assert lines[0] == "    azure_kv:"
    assert [line.split(":")[0].strip(" -") for line in lines[1:]] == AZKV_FIELDS
    assert re.fullmatch(r"\s+- created_at: \"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\"", lines[1]), lines[1]
    code, _, err = cli(capsysbinary, "set", str(path), '["stringData"]["user"]', '"admin"')
    assert code == 0, err
    after = path.read_text()
    assert after != text
    assert block in after  # the data key was not re-wrapped: the record is kept byte for byte
    # the JSON store: same fields, same order, as sops's json output
    code, out, err = cli(capsysbinary, "decrypt", "--output-type", "json", str(path))
    assert code == 0, err
    json_path = tmp_path / "secret.json"
    json_path.write_bytes(out)
    code, out, err = cli(capsysbinary, "encrypt", "--azure-kv", f"{VAULT}/keys/sops", str(json_path))
    assert code == 0, err
    [record] = json.loads(out)["sops"]["azure_kv"]
    assert list(record) == AZKV_FIELDS


def _decrypt_report(capsys: Any, path: Path, *extra: str) -> tuple[int, bytes, str]:
    return cli(capsys, "decrypt", *extra, str(path))


def test_credential_failure_is_reported_and_age_key_decrypts(
        azure_vault: FakeKeyVault, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    path = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops", "--age", recipient)
    monkeypatch.setattr(FakeCredential, "error", ClientAuthenticationError(
        "DefaultAzureCredential failed to retrieve a token from the included credentials."))
    # only the Azure key usable: the per-key report names it and the SDK's failure
    code, out, err = _decrypt_report(capsysbinary, path, "--decryption-order", "azure_kv,age")
    assert code == 128 and out == b""
    assert f"azure_kv {VAULT}/keys/sops/" in err and "ClientAuthenticationError" in err
    assert "age" in err and "Traceback" not in err
    # with the age identity too, Azure is tried first, fails, and age decrypts
    monkeypatch.setenv("SOPS_AGE_KEY", identity)
    code, out, err = _decrypt_report(capsysbinary, path, "--decryption-order", "azure_kv,age")
    assert code == 0, err
    assert out == PLAIN
    assert azure_vault.count("decrypt", status=None) == 0  # no token: nothing reached the vault


@pytest.mark.parametrize(("case", "expected"), [
    ("forbidden", "HttpResponseError: 403 Forbidden (ForbiddenByPolicy)"),
    ("unknown-token", "ClientAuthenticationError: 401 Unauthorized"),
    ("deleted-key", "ResourceNotFoundError: 404 KeyNotFound"),
])
def test_service_errors_give_per_key_report_and_fall_through(
        azure_vault: FakeKeyVault, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch, case: str, expected: str) -> None:
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    path = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops", "--age", recipient)
    status = {"forbidden": 403, "unknown-token": 401, "deleted-key": 404}[case]
    if case == "forbidden":
        no_decrypt = Principal("reader", frozenset({"get", "encrypt"}))
        monkeypatch.setattr(FakeCredential, "token", azure_vault.grant(no_decrypt))
    elif case == "unknown-token":
        monkeypatch.setattr(FakeCredential, "token", "expired-or-foreign-token")
    else:
        del azure_vault.keys["sops"]
    code, out, err = _decrypt_report(capsysbinary, path, "--decryption-order", "azure_kv,age")
    assert code == 128, err
    assert expected in err and f"azure_kv {VAULT}/keys/sops/" in err and "Traceback" not in err
    assert azure_vault.count(None, status=status) >= 1
    monkeypatch.setenv("SOPS_AGE_KEY", identity)
    code, out, err = _decrypt_report(capsysbinary, path, "--decryption-order", "azure_kv,age")
    assert code == 0, err
    assert out == PLAIN


def test_encrypt_for_unknown_key_is_one_clear_error(
        azure_vault: FakeKeyVault, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    plain = tmp_path / "secret.yaml"
    plain.write_bytes(PLAIN)
    code, out, err = cli(capsysbinary, "encrypt", "--azure-kv", f"{VAULT}/keys/missing", str(plain))
    assert code != 0 and out == b""
    assert "ResourceNotFoundError" in err and f"{VAULT}/keys/missing" in err
    assert "Traceback" not in err and "hunter2" not in err


def test_remote_encrypt_when_the_key_cannot_be_read(
        azure_vault: FakeKeyVault, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A principal with encrypt but no get: the SDK cannot encrypt locally and calls the vault
    (the Go SDK sops uses always does); the version must then be pinned in the URL."""
    v1 = azure_vault.latest("sops")
    monkeypatch.setattr(FakeCredential, "token", azure_vault.grant(
        Principal("wrapper", frozenset({"encrypt", "decrypt"}))))
    path = encrypt(capsysbinary, tmp_path, "--azure-kv", f"{VAULT}/keys/sops/{v1}")
    assert azure_vault.count("encrypt") == 1
    code, out, err = cli(capsysbinary, "decrypt", str(path))
    assert code == 0, err
    assert out == PLAIN
