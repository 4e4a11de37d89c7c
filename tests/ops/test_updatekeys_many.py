"""Many files against a key service: one unwrap per file, a bounded parallel pool, a result per file.

The service is the fake Azure Key Vault (``testing/azure_kv_server.py``) driven through the
unmodified SDK, so every unwrap is a counted HTTPS request. sops #885: several hundred files
took minutes because every file was a sequential round trip.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
import yaml

from sopskit.config import load_config
from sopskit.keys.age import generate_identity
from sopskit.keys.base import KeyContext
from sopskit.ops.decrypt import decrypt
from sopskit.ops.rekey import rotate_many
from sopskit.ops.updatekeys import update_keys_many
from testing.azure_kv_server import FakeKeyVault
from tests.keys.test_azure_kv import PLAIN, VAULT, azure_tls, azure_vault, cli  # noqa: F401 - fixtures


def _population(capsys: pytest.CaptureFixture[bytes], tmp_path: Path, vault: FakeKeyVault,
                count: int) -> tuple[Path, str]:
    """``count`` copies of one file encrypted for the vault's key (pinned version) in secrets/."""
    key_url = f"{VAULT}/keys/sops/{vault.latest('sops')}"
    seed = tmp_path / "seed.yaml"
    seed.write_bytes(PLAIN)
    code, out, err = cli(capsys, "encrypt", "--azure-kv", key_url, str(seed))
    assert code == 0, err
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for index in range(count):
        (secrets / f"s{index:03d}.enc.yaml").write_bytes(out)
    return secrets, key_url


def _rule(tmp_path: Path, key_url: str, recipient: str) -> Path:
    config = tmp_path / ".sops.yaml"
    config.write_text(f"creation_rules:\n  - azure_keyvault: {key_url}\n    age: {recipient}\n")
    return config


def test_500_files_one_unwrap_each_in_parallel(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    secrets, key_url = _population(capsysbinary, tmp_path, azure_vault, 500)
    identity, recipient = generate_identity()
    config = load_config(_rule(tmp_path, key_url, recipient))
    azure_vault.requests.clear()
    azure_vault.max_in_flight = 0
    results = update_keys_many([secrets], config=config, context=KeyContext(), workers=8)
    assert len(results) == 500
    assert [r.path.name for r in results] == sorted(p.name for p in secrets.iterdir())  # found order
    assert all(r.ok and r.written and r.added == [f"age {recipient}"] and not r.removed for r in results)
    # exactly one unwrap per file, none repeated, none failed
    assert azure_vault.count("decrypt", status=None) == 500
    assert azure_vault.count("decrypt") == 500
    # parallel, and bounded by the pool
    assert 1 < azure_vault.max_in_flight <= 8
    # the age key added by updatekeys opens any of them on its own
    sample = secrets / "s321.enc.yaml"
    assert decrypt(sample.read_bytes(), format="yaml", identities=[identity]) == PLAIN
    # a second run has nothing to do and unwraps nothing
    before = azure_vault.count("decrypt", status=None)
    again = update_keys_many([secrets], config=config, context=KeyContext(), workers=8)
    assert all(r.ok and not r.changed for r in again)
    assert azure_vault.count("decrypt", status=None) == before


def test_per_file_report_when_some_files_fail(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    secrets, key_url = _population(capsysbinary, tmp_path, azure_vault, 20)
    broken = sorted(secrets.iterdir())[3:6]
    for path in broken:  # a ciphertext the vault's key cannot open
        data = yaml.safe_load(path.read_bytes())
        enc = data["sops"]["azure_kv"][0]["enc"]
        blob = bytearray(base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)))
        blob[10] ^= 0xFF
        forged = base64.urlsafe_b64encode(bytes(blob)).decode().rstrip("=")
        path.write_text(path.read_text().replace(enc, forged))
    _, recipient = generate_identity()
    config = load_config(_rule(tmp_path, key_url, recipient))
    results = update_keys_many([secrets], config=config, context=KeyContext(), workers=4)
    failed = {r.path for r in results if not r.ok}
    assert failed == set(broken)
    for result in results:
        if result.path in failed:
            assert result.error is not None and "azure_kv" in result.error and "400" in result.error
            assert "\n" not in result.error and not result.written
        else:
            assert result.written
    assert azure_vault.count("decrypt", status=None) == 20


def test_rotate_many_unwraps_each_file_once(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    secrets, _ = _population(capsysbinary, tmp_path, azure_vault, 40)
    shutil.copy(secrets / "s000.enc.yaml", tmp_path / "before.yaml")
    azure_vault.requests.clear()
    azure_vault.max_in_flight = 0
    results = rotate_many([secrets], context=KeyContext(), workers=6)
    assert len(results) == 40 and all(r.ok and r.written for r in results)
    assert azure_vault.count("decrypt", status=None) == 40
    assert 1 < azure_vault.max_in_flight <= 6
    # a new data key: the record changed, the content did not
    old = yaml.safe_load((tmp_path / "before.yaml").read_bytes())["sops"]["azure_kv"][0]["enc"]
    new = yaml.safe_load((secrets / "s000.enc.yaml").read_bytes())["sops"]["azure_kv"][0]["enc"]
    assert old != new
    code, out, err = cli(capsysbinary, "decrypt", str(secrets / "s000.enc.yaml"))
    assert code == 0, err
    assert out == PLAIN
