"""GCP Cloud KMS end to end: the sopskit CLI and the unmodified ``google-cloud-kms`` client
(REST transport) against the fake of ``testing/gcp_kms_server.py``.

Configuration is what a user sets: ``SOPS_GCP_KMS_ENDPOINT`` (an ``https://`` URL selects the
REST transport; google.api_core names REST errors by HTTP status: Forbidden, Unauthorized,
NotFound, BadRequest), ``GOOGLE_OAUTH_ACCESS_TOKEN`` (sops's second credential source) and
``REQUESTS_CA_BUNDLE`` for the test CA. From sops's ``gcpkms/keysource.go``: ``Encrypt`` and
``Decrypt`` on the crypto key's resource ID, ``enc`` in standard base64, the record's fields
``created_at``, ``enc``, ``resource_id`` (sorted, as sops 3.13+ writes them).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing.certs import TlsFiles, make_tls_files
from testing.gcp_kms_server import ENCRYPT, FakeCloudKms, GcpPrincipal
from tests.conftest import require_module, require_tool
from tests.keys.test_azure_kv import PLAIN, cli

KEY = "projects/sopskit/locations/global/keyRings/ring/cryptoKeys/sops"
OTHER = "projects/sopskit/locations/europe-west1/keyRings/ring/cryptoKeys/other"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gcp_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    require_tool("openssl")
    return make_tls_files(tmp_path_factory.mktemp("gcp-tls"))


@pytest.fixture()
def gcp_kms(gcp_tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudKms]:
    require_module("google.cloud.kms")
    with FakeCloudKms(gcp_tls) as kms:
        kms.add_key(KEY)
        kms.add_key(OTHER)
        for var in ("GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "SOPS_DECRYPTION_ORDER",
                    "SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_GCP_KMS_IDS", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", "/nonexistent/sopskit-test-keys.txt")
        monkeypatch.setenv("SOPS_GCP_KMS_ENDPOINT", kms.endpoint)
        monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", kms.grant(GcpPrincipal("sops-user")))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gcp_tls.ca_cert))
        yield kms


def encrypt(capsys: Any, tmp_path: Path, *keys: str, name: str = "secret.yaml") -> Path:
    plain = tmp_path / name
    plain.write_bytes(PLAIN)
    code, out, err = cli(capsys, "encrypt", *keys, str(plain))
    assert code == 0, err
    plain.write_bytes(out)
    return plain


def test_encrypt_decrypt_through_the_rest_client(gcp_kms: FakeCloudKms, tmp_path: Path,
                                                 capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = encrypt(capsysbinary, tmp_path, "--gcp-kms", f"{KEY},{OTHER}")
    records = yaml.safe_load(path.read_bytes())["sops"]["gcp_kms"]
    assert [list(r) for r in records] == [["created_at", "enc", "resource_id"]] * 2
    assert [r["resource_id"] for r in records] == [KEY, OTHER]
    assert all(base64.b64decode(r["enc"], validate=True) for r in records)
    assert records[0]["enc"] != records[1]["enc"]
    assert gcp_kms.count("encrypt") == 2
    code, out, err = cli(capsysbinary, "decrypt", str(path))
    assert code == 0, err
    assert out == PLAIN
    [decrypt] = [r for r in gcp_kms.requests if r.operation == "decrypt"]
    assert decrypt.path == f"/v1/{KEY}:decrypt" and decrypt.status == 200


def test_rotation_keeps_old_files_readable(gcp_kms: FakeCloudKms, tmp_path: Path,
                                           capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    old = encrypt(capsysbinary, tmp_path, "--gcp-kms", KEY)
    gcp_kms.rotate(KEY)
    code, out, err = cli(capsysbinary, "decrypt", str(old))
    assert code == 0, err
    assert out == PLAIN


@pytest.mark.parametrize(("case", "status", "expected"), [
    ("no-permission", 403, "failed: Forbidden"),
    # google-auth answers a 401 by refreshing; a bare access token cannot refresh
    ("unknown-token", 401, "failed: RefreshError"),
    ("deleted-key", 404, "failed: NotFound"),
])
def test_service_errors_give_per_key_report_and_fall_through(
        gcp_kms: FakeCloudKms, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch, case: str, status: int, expected: str) -> None:
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    path = encrypt(capsysbinary, tmp_path, "--gcp-kms", KEY, "--age", recipient)
    if case == "no-permission":
        monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", gcp_kms.grant(GcpPrincipal("writer", frozenset({ENCRYPT}))))
    elif case == "unknown-token":
        monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.expired")
    else:
        del gcp_kms.keys[KEY]
    code, out, err = cli(capsysbinary, "decrypt", "--decryption-order", "gcp_kms,age", str(path))
    assert code == 128 and out == b""
    assert f"gcp_kms {KEY}: " in err and expected in err and "Traceback" not in err
    assert gcp_kms.count("decrypt", status=status) == 1
    monkeypatch.setenv("SOPS_AGE_KEY", identity)
    code, out, err = cli(capsysbinary, "decrypt", "--decryption-order", "gcp_kms,age", str(path))
    assert code == 0, err
    assert out == PLAIN


def test_tampered_ciphertext_is_refused_by_the_service(gcp_kms: FakeCloudKms, tmp_path: Path,
                                                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = encrypt(capsysbinary, tmp_path, "--gcp-kms", KEY)
    data = yaml.safe_load(path.read_bytes())
    enc = data["sops"]["gcp_kms"][0]["enc"]
    blob = bytearray(base64.b64decode(enc))
    blob[-1] ^= 1
    path.write_text(path.read_text().replace(enc, base64.b64encode(bytes(blob)).decode()))
    code, _, err = cli(capsysbinary, "decrypt", "--ignore-mac", str(path))
    assert code == 128 and "failed: BadRequest" in err
    assert gcp_kms.count("decrypt", status=400) == 1


def test_cli_subprocess_with_user_environment_only(gcp_kms: FakeCloudKms, tmp_path: Path) -> None:
    """A user's shell: no patching at all, just the environment variables."""
    plain = tmp_path / "secret.yaml"
    plain.write_bytes(PLAIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_AGE")}
    env["PYTHONPATH"] = str(ROOT / "src")
    run = [sys.executable, "-m", "sopskit"]
    enc = subprocess.run([*run, "encrypt", "--gcp-kms", KEY, str(plain)], env=env, capture_output=True,
                         timeout=60, check=False)
    assert enc.returncode == 0, enc.stderr.decode()
    plain.write_bytes(enc.stdout)
    dec = subprocess.run([*run, "decrypt", str(plain)], env=env, capture_output=True, timeout=60, check=False)
    assert dec.returncode == 0, dec.stderr.decode()
    assert dec.stdout == PLAIN
    assert gcp_kms.count("encrypt") == 1 and gcp_kms.count("decrypt") == 1
