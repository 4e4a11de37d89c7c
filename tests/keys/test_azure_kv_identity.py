"""Azure Key Vault with the real ``DefaultAzureCredential`` chain, as a user's shell runs it.

Nothing is patched: ``sopskit`` runs in a subprocess with the environment variables a user
or a Flux controller sets, azure-identity (MSAL) fetches its token from the fake's Azure AD
endpoints and the SDK uses it on the fake vault, both reached through the fake's proxy.
Covered: ``EnvironmentCredential`` (client secret) and ``WorkloadIdentityCredential``
(``AZURE_FEDERATED_TOKEN_FILE``, what Azure workload identity mounts into a Flux pod).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sopskit.keys.age import generate_identity
from testing.azure_kv_server import TENANT, FakeKeyVault, Principal
from testing.certs import TlsFiles
from tests.conftest import require_module
from tests.keys.test_azure_kv import PLAIN, VAULT, azure_tls  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "5f2c1a9e-0000-4000-8000-0000000000a1"


@pytest.fixture()
def vault(azure_tls: TlsFiles) -> Iterator[FakeKeyVault]:  # noqa: F811 - fixture
    require_module("azure.identity")
    require_module("azure.keyvault.keys")
    with FakeKeyVault(azure_tls) as fake:
        fake.add_key("sops")
        yield fake


def _env(vault: FakeKeyVault, tls: TlsFiles, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "AZURE_", "IDENTITY_", "MSI_")) and k.upper() not in {"NO_PROXY"}}
    home.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT / "src"), "HTTPS_PROXY": vault.proxy_url,
                "REQUESTS_CA_BUNDLE": str(tls.ca_cert), "AZURE_TENANT_ID": TENANT,
                "SOPS_AGE_KEY_FILE": str(home / "no-such-keys.txt")})
    env.update(extra)
    return env


def _sopskit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "sopskit", *args], env=env, capture_output=True,
                          timeout=120, check=False)


def _round_trip(env: dict[str, str], tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "secret.yaml"
    path.write_bytes(PLAIN)
    enc = _sopskit(env, "encrypt", "--azure-kv", f"{VAULT}/keys/sops", *extra, str(path))
    assert enc.returncode == 0, enc.stderr.decode()
    path.write_bytes(enc.stdout)
    dec = _sopskit(env, "decrypt", str(path))
    assert dec.returncode == 0, dec.stderr.decode()
    assert dec.stdout == PLAIN
    return path


def test_client_secret_through_environment_credential(vault: FakeKeyVault, azure_tls: TlsFiles,  # noqa: F811
                                                      tmp_path: Path) -> None:
    vault.register_app(CLIENT_ID, "s3cret-value", Principal("sops-ci"))
    env = _env(vault, azure_tls, tmp_path / "home", AZURE_CLIENT_ID=CLIENT_ID, AZURE_CLIENT_SECRET="s3cret-value")
    path = _round_trip(env, tmp_path)
    assert yaml.safe_load(path.read_bytes())["sops"]["azure_kv"][0]["version"] == vault.latest("sops")
    tokens = [r for r in vault.requests if r.operation == "aad" and r.path.endswith("/token")]
    assert tokens and all(r.status == 200 and r.principal == "sops-ci" for r in tokens)
    assert vault.count("decrypt") == 1


def test_workload_identity_token_file(vault: FakeKeyVault, azure_tls: TlsFiles,  # noqa: F811
                                      tmp_path: Path) -> None:
    federated = "eyJhbGciOiJSUzI1NiJ9.fake-projected-service-account-token.sig"
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(federated)
    vault.register_app(CLIENT_ID, federated, Principal("kustomize-controller"))
    env = _env(vault, azure_tls, tmp_path / "home", AZURE_CLIENT_ID=CLIENT_ID,
               AZURE_FEDERATED_TOKEN_FILE=str(token_file))
    _round_trip(env, tmp_path)
    assert any(r.operation == "aad" and r.principal == "kustomize-controller" for r in vault.requests)


def test_wrong_secret_is_reported_and_age_decrypts(vault: FakeKeyVault, azure_tls: TlsFiles,  # noqa: F811
                                                    tmp_path: Path) -> None:
    vault.register_app(CLIENT_ID, "right", Principal("sops-ci"))
    identity, recipient = generate_identity()
    good = _env(vault, azure_tls, tmp_path / "home", AZURE_CLIENT_ID=CLIENT_ID, AZURE_CLIENT_SECRET="right")
    path = _round_trip(good, tmp_path, "--age", recipient)
    bad = {**good, "AZURE_CLIENT_SECRET": "wr0ng-s3cret-zz", "SOPS_DECRYPTION_ORDER": "azure_kv,age"}
    failed = _sopskit(bad, "decrypt", str(path))
    err = failed.stderr.decode()
    assert failed.returncode == 128, err
    assert f"azure_kv {VAULT}/keys/sops/" in err and "ClientAuthenticationError" in err
    assert "EnvironmentCredential: Authentication failed" in err  # what the chain tried, once
    assert err.startswith("sopskit: ")  # the SDK's own warnings are not printed
    assert "wr0ng-s3cret-zz" not in err and "Traceback" not in err
    assert any(r.operation == "aad" and r.status == 401 for r in vault.requests)
    recovered = _sopskit({**bad, "SOPS_AGE_KEY": identity}, "decrypt", str(path))
    assert recovered.returncode == 0, recovered.stderr.decode()
    assert recovered.stdout == PLAIN


def test_one_token_for_a_many_file_run(vault: FakeKeyVault, azure_tls: TlsFiles,  # noqa: F811
                                       tmp_path: Path) -> None:
    """The credential is shared by every file of a run: one Azure AD round trip, not one per file."""
    vault.register_app(CLIENT_ID, "s3cret-value", Principal("sops-ci"))
    env = _env(vault, azure_tls, tmp_path / "home", AZURE_CLIENT_ID=CLIENT_ID, AZURE_CLIENT_SECRET="s3cret-value")
    key_url = f"{VAULT}/keys/sops/{vault.latest('sops')}"
    seed = _round_trip(env, tmp_path)
    repo = tmp_path / "repo"
    (repo / "secrets").mkdir(parents=True)
    for index in range(12):
        shutil.copy(seed, repo / "secrets" / f"s{index:02d}.enc.yaml")
    _, recipient = generate_identity()
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - azure_keyvault: {key_url}\n    age: {recipient}\n")
    vault.requests.clear()
    done = subprocess.run([sys.executable, "-m", "sopskit", "updatekeys", "-y", "secrets"], cwd=repo, env=env,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert vault.count("decrypt") == 12
    assert len([r for r in vault.requests if r.operation == "aad" and r.path.endswith("/token")]) == 1
