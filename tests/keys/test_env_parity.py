"""sops 3.12/3.13 environment variables, checked against sops's source (getsops/sops HEAD):
``SOPS_HC_VAULT_ALLOWLIST`` (hcvault/keysource.go), ``SOPS_GCP_KMS_ENDPOINT`` /
``SOPS_GCP_KMS_UNIVERSE_DOMAIN`` / ``SOPS_GCP_KMS_CLIENT_TYPE`` (gcpkms/keysource.go) and
``SOPS_AGE_SSH_PRIVATE_KEY_CMD`` (age/keysource.go)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from sopskit.errors import ConfigError
from sopskit.keys.base import KeyContext
from sopskit.keys.gcp_kms import GcpKmsKey, client_settings
from sopskit.keys.hc_vault import allowlist_allows
from sopskit.keys.identities import discover_identities
from tests.conftest import require_tool

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(("allowlist", "address", "allowed"), [
    ("", "https://anything:8200", True),
    ("all", "https://anything:8200", True),
    ("none", "https://vault.example.com", False),
    ("https://vault.example.com", "https://vault.example.com", True),
    ("https://vault.example.com/", "https://vault.example.com", True),
    ("https://vault.example.com", "https://vault.example.com.evil.net", False),  # prefix, not string
    ("https://vault.example.com", "https://vault.example.com:8200", False),
    (" https://a ,https://vault.example.com:8200", "https://vault.example.com:8200", True),
    ("https://a", "http://a", False),
])
def test_vault_allowlist_matches_sops(allowlist: str, address: str, allowed: bool) -> None:
    assert allowlist_allows(allowlist, address) is allowed


@pytest.mark.parametrize("allowlist", ["https://a,,https://b", "https://a,", " , https://a"])
def test_vault_allowlist_empty_entry_is_an_error(allowlist: str) -> None:
    with pytest.raises(ConfigError, match=r"entry \d is empty"):
        allowlist_allows(allowlist, "https://a")


@pytest.mark.parametrize(("env", "options", "transport"), [
    ({}, {}, "grpc"),
    ({"SOPS_GCP_KMS_ENDPOINT": "kms.example:443"}, {"api_endpoint": "kms.example:443"}, "grpc"),
    ({"SOPS_GCP_KMS_UNIVERSE_DOMAIN": "cloud.example"}, {"universe_domain": "cloud.example"}, "grpc"),
    ({"SOPS_GCP_KMS_ENDPOINT": "e:443", "SOPS_GCP_KMS_UNIVERSE_DOMAIN": "u"}, {"api_endpoint": "e:443"}, "grpc"),
    ({"SOPS_GCP_KMS_CLIENT_TYPE": "REST"}, {}, "rest"),
    ({"SOPS_GCP_KMS_CLIENT_TYPE": "grpc"}, {}, "grpc"),
    ({"SOPS_GCP_KMS_CLIENT_TYPE": "carrier-pigeon"}, {}, "grpc"),  # sops: anything else is gRPC
])
def test_gcp_client_settings(env: dict[str, str], options: dict[str, str], transport: str) -> None:
    assert client_settings(env) == (options, transport)


def test_gcp_settings_reach_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in ``google.cloud.kms``: the client gets the options and transport."""
    seen: dict[str, Any] = {}

    class Client:
        def __init__(self, **kwargs: Any) -> None:
            seen.update(kwargs)

        def encrypt(self, request: dict[str, Any]) -> Any:
            return types.SimpleNamespace(ciphertext=b"wrapped")

    kms = types.ModuleType("google.cloud.kms")
    kms.KeyManagementServiceClient = Client  # type: ignore[attr-defined]
    cloud = types.ModuleType("google.cloud")
    cloud.kms = kms  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.cloud", cloud)
    monkeypatch.setitem(sys.modules, "google.cloud.kms", kms)
    key = GcpKmsKey("projects/p/locations/l/keyRings/r/cryptoKeys/k")
    env = {"SOPS_GCP_KMS_UNIVERSE_DOMAIN": "cloud.example", "SOPS_GCP_KMS_CLIENT_TYPE": "rest"}
    record = key.encrypt(b"k" * 32, now=NOW, context=KeyContext(env=env))
    assert record.enc == "d3JhcHBlZA=="
    assert seen["client_options"] == {"universe_domain": "cloud.example"} and seen["transport"] == "rest"


def _ssh_key(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    path = tmp_path / "open"
    path.write_bytes(pem)
    return path


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), **values}


def test_ssh_private_key_cmd_gives_an_identity_and_sees_the_recipient(tmp_path: Path) -> None:
    key = _ssh_key(tmp_path)
    script = tmp_path / "cmd.py"
    script.write_text(f"import os, sys\nassert os.environ['SOPS_AGE_RECIPIENT'] == 'ssh-ed25519 X'\n"
                      f"sys.stdout.write(open({str(key)!r}).read())\n")
    found = discover_identities(_env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_CMD=f"{sys.executable} {script}"),
                                recipient="ssh-ed25519 X")
    assert found.identities == [key.read_text()] and not found.errors


def test_ssh_private_key_cmd_refuses_a_password_protected_key_as_sops(tmp_path: Path) -> None:
    import subprocess

    key = tmp_path / "locked"
    subprocess.run([require_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "pw", "-C", "", "-f", str(key)],
                   check=True, capture_output=True)
    asked: list[str] = []
    found = discover_identities(
        _env(tmp_path, SOPS_AGE_SSH_PRIVATE_KEY_CMD=f"cat {key}"),
        passphrase_reader=lambda prompt: asked.append(prompt) or "pw")
    assert not found.identities and not asked
    assert any("password protected, which is unsupported" in e for e in found.errors)
