"""Repository-wide ``updatekeys`` and ``rotate`` through the CLI against the key-service fakes.

The CLI runs in-process (so the patched Azure credential is seen) and every unwrap is a counted
HTTPS request on the fake, made by the unmodified SDK: one unwrap per file, a bounded pool, one
report line per file in the order the files were found, exit 1 when any file failed, and a
failing file left byte for byte as it was. sops #885: several hundred files took minutes
because every file was a sequential round trip.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt
from testing.azure_kv_server import FakeCredential, FakeKeyVault
from testing.gcp_kms_server import FakeCloudKms, GcpPrincipal
from tests.keys.test_azure_kv import PLAIN, VAULT, azure_tls, azure_vault, cli  # noqa: F401 - fixtures
from tests.keys.test_gcp_kms import KEY, OTHER, gcp_kms, gcp_tls  # noqa: F401 - fixtures
from tests.keys.test_hc_vault import TOKEN as VAULT_TOKEN
from tests.keys.test_hc_vault import FakeTransit, vault  # noqa: F401 - fixtures
from tests.keys.test_kms import aws  # noqa: F401 - fixtures

_LINE = re.compile(r"^(?P<path>\S+): (?P<what>.*)$")


def _seal(capsys: pytest.CaptureFixture[bytes], tmp_path: Path, *keys: str) -> bytes:
    seed = tmp_path / "seed.yaml"
    seed.write_bytes(PLAIN)
    code, out, err = cli(capsys, "encrypt", *keys, str(seed))
    assert code == 0, err
    seed.unlink()
    return out


def _fill(directory: Path, sealed: bytes, names: list[str]) -> list[Path]:
    directory.mkdir(exist_ok=True)
    paths = []
    for name in names:
        (directory / name).write_bytes(sealed)
        paths.append(directory / name)
    return paths


def _report(err: str) -> list[tuple[str, str]]:
    """(file name, what happened) for each per-file line of stderr, in order."""
    lines = []
    for line in err.splitlines():
        match = _LINE.match(line)
        if match and not line.startswith("sopskit:"):
            lines.append((Path(match["path"]).name, match["what"]))
    return lines


def _age_file(tmp_path: Path, identity: str, name: str = "keys.txt") -> Path:
    path = tmp_path / name
    path.write_text(identity + "\n")
    return path


def test_500_file_updatekeys_one_unwrap_per_file(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    secrets = tmp_path / "secrets"
    names = [f"s{i:03d}.enc.yaml" for i in range(500)]
    _fill(secrets, _seal(capsysbinary, tmp_path, "--azure-kv", key_url), names)
    (secrets / "README.md").write_text("not a SOPS file: never listed for a directory\n")
    identity, recipient = generate_identity()
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - azure_keyvault: {key_url}\n    age: {recipient}\n")
    monkeypatch.chdir(tmp_path)
    azure_vault.requests.clear()
    azure_vault.max_in_flight = 0

    code, out, err = cli(capsysbinary, "updatekeys", "-y", "--jobs", "6", "secrets")

    assert code == 0, err
    # one report line per file, in the order the files were found (sorted), whatever finished first
    assert _report(err) == [(name, "synced with new keys") for name in names]
    assert out.decode().count(f"+++ age {recipient}") == 500
    # exactly one unwrap per file: no file was unwrapped twice, none was skipped, none failed
    assert azure_vault.count("decrypt", status=None) == 500
    assert azure_vault.count("decrypt") == 500
    # one SDK client per key for the whole run: the key itself is fetched once per client (at
    # most once per thread racing the first use), not once per file (3 requests a file before)
    assert azure_vault.count("get", status=None) <= 6
    assert len(azure_vault.requests) <= 500 + 2 * 6
    # the pool ran files at once, and never more than --jobs of them
    assert 1 < azure_vault.max_in_flight <= 6
    # every file opens with the recipient updatekeys added, on its own (no vault)
    for name in names:
        assert decrypt((secrets / name).read_bytes(), format="yaml", identities=[identity]) == PLAIN
    # a second run finds nothing to do and asks the vault for nothing
    azure_vault.requests.clear()
    code, out, err = cli(capsysbinary, "updatekeys", "-y", "secrets")
    assert code == 0, err
    assert _report(err) == [(name, "already up to date") for name in names]
    assert azure_vault.requests == []


def test_permission_denied_on_some_files_reports_each_and_loses_none(
        gcp_kms: FakeCloudKms,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets"
    good = _fill(secrets, _seal(capsysbinary, tmp_path, "--gcp-kms", KEY), [f"a{i:02d}.enc.yaml" for i in range(12)])
    denied = _fill(secrets, _seal(capsysbinary, tmp_path, "--gcp-kms", OTHER), [f"b{i:02d}.enc.yaml" for i in range(5)])
    before = {p: p.read_bytes() for p in denied}
    identity, recipient = generate_identity()
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - gcp_kms: {KEY}\n    age: {recipient}\n")
    # the caller may use KEY only: an IAM binding on one CryptoKey, not on the project
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", gcp_kms.grant(GcpPrincipal("ci", keys=frozenset({KEY}))))
    monkeypatch.chdir(tmp_path)
    gcp_kms.requests.clear()

    code, _, err = cli(capsysbinary, "updatekeys", "-y", "--jobs", "4", "secrets")

    assert code == 1, err
    report = dict(_report(err))
    assert len(_report(err)) == 17  # one line per file, nothing lost from the report
    for path in good:
        assert report[path.name] == "synced with new keys"
        assert decrypt(path.read_bytes(), format="yaml", identities=[identity]) == PLAIN
    for path in denied:
        line = report[path.name]
        assert line.startswith("FAILED: ") and "gcp_kms" in line and OTHER in line
        assert line.endswith("failed: Forbidden")  # the SDK's name for the service's 403
        assert path.read_bytes() == before[path]  # untouched: still opens for whoever holds OTHER
    assert "updatekeys failed for 5 file(s)" in err
    # one unwrap per file: 12 answered, 5 refused, none retried
    assert gcp_kms.count("decrypt") == 12
    assert gcp_kms.count("decrypt", status=403) == 5
    assert gcp_kms.count("decrypt", status=None) == 17


def test_credential_failure_falls_through_to_age_per_file(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    mine, my_recipient = generate_identity()
    _, new_recipient = generate_identity()
    secrets = tmp_path / "secrets"
    both = _fill(secrets, _seal(capsysbinary, tmp_path, "--azure-kv", key_url, "--age", my_recipient),
                 [f"both{i}.enc.yaml" for i in range(6)])
    vault_only = _fill(secrets, _seal(capsysbinary, tmp_path, "--azure-kv", key_url),
                       [f"vault{i}.enc.yaml" for i in range(4)])
    before = {p: p.read_bytes() for p in vault_only}
    # moving off the vault: the rule lists age keys only, so wrapping needs no vault
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {my_recipient},{new_recipient}\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(_age_file(tmp_path, mine)))
    monkeypatch.setattr(FakeCredential, "error", ClientAuthenticationError("no token for you (test)"))
    monkeypatch.chdir(tmp_path)

    code, _, err = cli(capsysbinary, "updatekeys", "-y", "secrets")

    assert code == 1, err
    report = dict(_report(err))
    for path in both:  # the age key opened them: the vault was never needed
        assert report[path.name] == "synced with new keys"
    for path in vault_only:  # only the vault could open them, and the credential failed
        line = report[path.name]
        assert line.startswith("FAILED: ") and "azure_kv" in line and "ClientAuthenticationError" in line
        assert path.read_bytes() == before[path]
    assert azure_vault.count("decrypt", status=None) == 0  # no token, so no request reached the vault
    assert "updatekeys failed for 4 file(s)" in err
    # the same files, credential back: they were not lost, the next run finishes the job
    monkeypatch.setattr(FakeCredential, "error", None)
    code, _, err = cli(capsysbinary, "updatekeys", "-y", "secrets")
    assert code == 0, err
    assert dict(_report(err)) == {**{p.name: "already up to date" for p in both},
                                  **{p.name: "synced with new keys" for p in vault_only}}


def _masked(path: Path) -> Any:
    """The document with the random parts of key records (wrapped keys, their timestamps) out."""
    doc = yaml.safe_load(path.read_bytes())
    for records in doc["sops"].values():
        if isinstance(records, list):
            for record in records:
                if isinstance(record, dict):
                    record.pop("enc", None)
                    record.pop("created_at", None)
    return doc


def test_parallel_run_writes_what_a_serial_run_writes(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    names = [f"s{i:02d}.enc.yaml" for i in range(24)]
    serial = tmp_path / "serial"
    serial.mkdir()
    originals = []
    for index, name in enumerate(names):  # distinct files: each its own data key and values
        sealed = _seal(capsysbinary, tmp_path, "--azure-kv", key_url)
        originals.append(sealed)
        (serial / name).write_bytes(sealed)
        assert index == 0 or sealed != originals[0]
    parallel = tmp_path / "parallel"
    shutil.copytree(serial, parallel)
    _, recipient = generate_identity()
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - azure_keyvault: {key_url}\n    age: {recipient}\n")
    monkeypatch.chdir(tmp_path)

    dry_serial = cli(capsysbinary, "updatekeys", "--dry-run", "--jobs", "1", "serial")
    dry_parallel = cli(capsysbinary, "updatekeys", "--dry-run", "--jobs", "8", "parallel")
    assert dry_serial[0] == dry_parallel[0] == 0
    assert dry_serial[1].replace(b"serial/", b"parallel/") == dry_parallel[1]  # the same diffs, same order

    # each unwrap takes a moment, as a real vault's round trip does: parallel requests overlap even
    # on a loaded two-core machine (without it, 24 fast requests could finish one by one)
    azure_vault.latency = 0.02
    azure_vault.max_in_flight = 0
    run_serial = cli(capsysbinary, "updatekeys", "-y", "--jobs", "1", "serial")
    assert azure_vault.max_in_flight == 1
    azure_vault.max_in_flight = 0
    run_parallel = cli(capsysbinary, "updatekeys", "-y", "--jobs", "8", "parallel")
    assert azure_vault.max_in_flight > 1
    assert run_serial[0] == run_parallel[0] == 0
    assert run_serial[1].replace(b"serial/", b"parallel/") == run_parallel[1]
    assert run_serial[2].replace("serial/", "parallel/") == run_parallel[2]
    for name, original in zip(names, originals, strict=True):
        a, b = (serial / name).read_bytes(), (parallel / name).read_bytes()
        # values, MAC, lastmodified and version byte for byte as before; key records alike but
        # for the wrapped keys themselves (RSA-OAEP and age draw fresh randomness per wrap)
        body = original.split(b"sops:\n")[0]
        assert a.split(b"sops:\n")[0] == b.split(b"sops:\n")[0] == body
        assert _masked(serial / name) == _masked(parallel / name)
        for field in ("mac", "lastmodified", "version"):
            assert yaml.safe_load(a)["sops"][field] == yaml.safe_load(original)["sops"][field]


def test_rotate_directory_unwraps_each_file_once(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    secrets = tmp_path / "secrets"
    names = [f"s{i:02d}.enc.yaml" for i in range(30)]
    _fill(secrets, _seal(capsysbinary, tmp_path, "--azure-kv", key_url), names)
    (tmp_path / "plain.txt").write_text("not sops")
    old = {n: (secrets / n).read_bytes() for n in names}
    azure_vault.requests.clear()
    azure_vault.max_in_flight = 0
    azure_vault.latency = 0.02  # a vault's round trip: the five workers' requests overlap

    code, _, err = cli(capsysbinary, "rotate", "-i", "--jobs", "5", str(secrets), str(tmp_path / "plain.txt"))

    assert code == 0, err  # a given file that is not SOPS is skipped, not a failure
    assert _report(err) == [(n, "rotated") for n in names] + [("plain.txt", "skipped: not a SOPS file "
                                                               "(no sops metadata with mac and lastmodified)")]
    assert azure_vault.count("decrypt", status=None) == 30
    assert 1 < azure_vault.max_in_flight <= 5
    for name in names:
        assert (secrets / name).read_bytes() != old[name]
        code, out, err = cli(capsysbinary, "decrypt", str(secrets / name))
        assert (code, out) == (0, PLAIN), err


def test_jobs_must_be_positive(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    for bad in ("0", "-2", "many"):
        code, _, err = cli(capsysbinary, "updatekeys", "-y", "--jobs", bad, str(tmp_path))
        assert code == 2 and "--jobs" in err


def test_vault_transit_many_files_one_unwrap_each(
        vault: tuple[str, FakeTransit],  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    address, fake = vault
    monkeypatch.setenv("VAULT_TOKEN", VAULT_TOKEN)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "none.txt"))
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    transit = f"{address}/v1/transit/keys/sops"
    names = [f"s{i:02d}.enc.yaml" for i in range(40)]
    _fill(tmp_path / "secrets", _seal(capsysbinary, tmp_path, "--hc-vault-transit", transit), names)
    identity, recipient = generate_identity()
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - hc_vault_transit_uri: {transit}\n"
                                         f"    age: {recipient}\n")
    monkeypatch.chdir(tmp_path)
    fake.requests.clear()
    code, _, err = cli(capsysbinary, "updatekeys", "-y", "--jobs", "4", "secrets")
    assert code == 0, err
    assert _report(err) == [(n, "synced with new keys") for n in names]
    decrypts = [r for r in fake.requests if r["path"] == "/v1/transit/decrypt/sops"]
    assert len(decrypts) == 40
    for name in names:
        assert decrypt((tmp_path / "secrets" / name).read_bytes(), format="yaml", identities=[identity]) == PLAIN


def test_aws_kms_many_files_one_unwrap_each(
        aws: Any,  # noqa: F811 - fixture
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """moto patches botocore in-process and keeps no request log: the count is of the calls
    sopskit's KMS backend makes to the service (``KmsKey.decrypt``), each one a moto ``Decrypt``."""
    from sopskit.keys.kms import KmsKey

    calls: list[str] = []
    real = KmsKey.decrypt

    def counted(self: KmsKey, record: Any, *, context: Any) -> bytes:
        calls.append(record.fields.get("arn", ""))
        return real(self, record, context=context)

    monkeypatch.setattr(KmsKey, "decrypt", counted)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "none.txt"))
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    arn = aws.create_key(Description="sopskit pool test")["KeyMetadata"]["Arn"]
    names = [f"s{i:02d}.enc.yaml" for i in range(40)]
    _fill(tmp_path / "secrets", _seal(capsysbinary, tmp_path, "--kms", arn), names)
    identity, recipient = generate_identity()
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - kms: {arn}\n    age: {recipient}\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsysbinary, "updatekeys", "-y", "--jobs", "4", "secrets")
    assert code == 0, err
    assert _report(err) == [(n, "synced with new keys") for n in names]
    assert calls == [arn] * 40
    for name in names:
        assert decrypt((tmp_path / "secrets" / name).read_bytes(), format="yaml", identities=[identity]) == PLAIN
