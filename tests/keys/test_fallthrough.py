"""A cloud key that cannot work is one key's failure; the next key of the group is tried.

sops: ``GetDataKeyWithKeyServices`` (sops.go) collects each key's error and goes on with the
next key; exit 128 (``codes.CouldNotRetrieveKey``) only when no group can be recovered. The
real sops binary is compared in tests/peer/test_fallthrough_peer.py.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.errors import DataKeyUnavailableError, MasterKeyError
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.keys.age import AgeKey, generate_identity
from sopskit.keys.base import KeyContext
from sopskit.keys.datakey import recover_data_key, wrap_data_key
from sopskit.keys.gcp_kms import GcpKmsKey
from sopskit.keys.kms import KmsKey
from tests.conftest import require_module

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))
GCP_ID = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CLOUD_RECORDS = [
    KeyRecord("gcp_kms", {"resource_id": GCP_ID, "created_at": "2024-01-01T00:00:00Z", "enc": "CiQAbm90cmVhbA=="}),
    KeyRecord("kms", {"arn": ARN, "created_at": "2024-01-01T00:00:00Z", "enc": "AQICAHhiZm9v", "aws_profile": ""}),
]
CLOUD_FIRST = ("gcp_kms", "kms", "age")


class DefaultCredentialsError(Exception):
    """Stands in for google.auth.exceptions.DefaultCredentialsError (the gcp extra may be absent)."""


def _metadata(recipient: str) -> Metadata:
    records, _ = wrap_data_key(DATA_KEY, [[AgeKey(recipient)]], 0, now=NOW, rng=os.urandom,
                               context=KeyContext(env={}))
    return Metadata(key_groups=[[*CLOUD_RECORDS, *records[0]]])


def _failures(metadata: Metadata) -> dict[str, str]:
    with pytest.raises(DataKeyUnavailableError) as caught:
        recover_data_key(metadata, context=KeyContext(age_identities=[], env={}), decryption_order=CLOUD_FIRST)
    assert caught.value.exit_code == 128
    return {o.key_type: o.error or "" for o in caught.value.outcomes}


@pytest.fixture()
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """botocore with no credentials anywhere and no instance metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_gcp_without_credentials_falls_through_to_age(monkeypatch: pytest.MonkeyPatch, no_aws: None) -> None:
    def no_credentials(self: GcpKmsKey, context: KeyContext) -> object:
        raise DefaultCredentialsError("Your default credentials were not found")

    monkeypatch.setattr(GcpKmsKey, "_client", no_credentials)
    identity, recipient = generate_identity()
    metadata = _metadata(recipient)
    got = recover_data_key(metadata, context=KeyContext(age_identities=[identity], env={}),
                           decryption_order=CLOUD_FIRST)
    assert got == DATA_KEY
    failures = _failures(metadata)
    assert "no Google credentials found" in failures["gcp_kms"]
    assert "age" in failures


def test_unexpected_backend_exception_is_one_keys_failure(monkeypatch: pytest.MonkeyPatch, no_aws: None) -> None:
    def broken(self: GcpKmsKey, record: KeyRecord, *, context: KeyContext) -> bytes:
        raise RuntimeError("text that could quote data")

    monkeypatch.setattr(GcpKmsKey, "decrypt", broken)
    identity, recipient = generate_identity()
    metadata = _metadata(recipient)
    assert recover_data_key(metadata, context=KeyContext(age_identities=[identity], env={}),
                            decryption_order=CLOUD_FIRST) == DATA_KEY
    failure = _failures(metadata)["gcp_kms"]
    assert failure == "unexpected RuntimeError from the gcp_kms backend"


def test_missing_gcp_sdk_is_one_keys_failure(monkeypatch: pytest.MonkeyPatch, no_aws: None) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.kms", None)  # import fails as if not installed
    cloud = sys.modules.get("google.cloud")
    if cloud is not None:
        monkeypatch.delattr(cloud, "kms", raising=False)
    identity, recipient = generate_identity()
    metadata = _metadata(recipient)
    assert recover_data_key(metadata, context=KeyContext(age_identities=[identity], env={}),
                            decryption_order=CLOUD_FIRST) == DATA_KEY
    assert "pip install 'sopskit[gcp]'" in _failures(metadata)["gcp_kms"]


def test_aws_without_credentials_or_endpoint_is_one_keys_failure(
    monkeypatch: pytest.MonkeyPatch, no_aws: None
) -> None:
    require_module("boto3")
    identity, recipient = generate_identity()
    metadata = _metadata(recipient)
    assert recover_data_key(metadata, context=KeyContext(age_identities=[identity], env={}),
                            decryption_order=("kms", "age")) == DATA_KEY
    assert "NoCredentialsError" in _failures(metadata)["kms"]
    # credentials, but the service cannot be reached (nothing listens on port 9)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert "EndpointConnectionError" in _failures(metadata)["kms"]


def test_unexpected_exception_while_wrapping_is_a_master_key_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: KmsKey, data_key: bytes, **_: object) -> KeyRecord:
        raise RuntimeError("boom")

    monkeypatch.setattr(KmsKey, "encrypt", broken)
    with pytest.raises(MasterKeyError, match="unexpected RuntimeError from the kms backend"):
        wrap_data_key(DATA_KEY, [[KmsKey(ARN)]], 0, now=NOW, rng=os.urandom, context=KeyContext(env={}))


def _file_with_cloud_keys(tmp_path: Path, env: dict[str, str], recipient: str) -> Path:
    plain = tmp_path / "s.yaml"
    plain.write_text("password: hunter2\n")
    done = subprocess.run([sys.executable, "-m", "sopskit", "encrypt", "--age", recipient, str(plain)],
                          env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode().replace("sops:\n", (
        "sops:\n"
        f"    gcp_kms:\n        - resource_id: {GCP_ID}\n          created_at: \"2024-01-01T00:00:00Z\"\n"
        "          enc: CiQAbm90cmVhbA==\n"
        f"    kms:\n        - arn: {ARN}\n          created_at: \"2024-01-01T00:00:00Z\"\n"
        "          enc: AQICAHhiZm9v\n          aws_profile: \"\"\n"
    ), 1)
    encrypted = tmp_path / "s.enc.yaml"
    encrypted.write_text(text)
    return encrypted


def test_cli_decrypts_with_age_after_cloud_keys_fail(tmp_path: Path) -> None:
    """End to end, with whatever cloud SDKs are installed (gcp: no credentials or no SDK;
    aws: no credentials): exit 0 with the age key, 128 without, never an internal error."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "AWS_", "GOOGLE_", "CLOUDSDK_"))}
    env.update({"HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true", "NO_GCE_CHECK": "True",
                "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"), "AWS_CONFIG_FILE": str(home / "none"),
                "SOPS_DECRYPTION_ORDER": ",".join(CLOUD_FIRST)})
    identity, recipient = generate_identity()
    encrypted = _file_with_cloud_keys(tmp_path, env, recipient)
    run = [sys.executable, "-m", "sopskit", "decrypt", str(encrypted)]
    ok = subprocess.run(run, env={**env, "SOPS_AGE_KEY": identity}, capture_output=True, timeout=60, check=False)
    assert (ok.returncode, ok.stdout) == (0, b"password: hunter2\n"), ok.stderr
    failed = subprocess.run(run, env=env, capture_output=True, timeout=60, check=False)
    assert failed.returncode == 128
    report = failed.stderr.decode()
    assert "internal error" not in report and "Traceback" not in report
    assert f"gcp_kms {GCP_ID}:" in report and f"kms {ARN}:" in report and f"age {recipient}:" in report
