"""GCP KMS, Azure Key Vault and HuaweiCloud KMS: specs, records, and the missing-SDK path.

No cloud emulator is available here, so wrapping itself is not exercised: these tests pin the
parsing and serialisation and check that a missing SDK names the extra to install.
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from sopskit.errors import ConfigError, FormatError, MissingExtraError
from sopskit.format.metadata import KeyRecord
from sopskit.keys import backend, key_from_record, key_from_spec
from sopskit.keys.azure_kv import AzureKvKey, decode_ciphertext, encode_ciphertext, parse_key_urls
from sopskit.keys.base import KeyContext
from sopskit.keys.gcp_kms import GcpKmsKey, parse_resource_ids
from sopskit.keys.hckms import HcKmsKey

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
GCP = "projects/p1/locations/global/keyRings/ring/cryptoKeys/sops"
HCKMS = "cn-north-4:0f9a7c2e-1b2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_every_registered_backend_loads_and_names_its_type() -> None:
    from sopskit.format.metadata import KEY_TYPES
    from sopskit.keys import KEY_REGISTRY

    assert set(KEY_REGISTRY) == set(KEY_TYPES)
    for key_type in KEY_REGISTRY:
        assert backend(key_type).key_type == key_type


# -- GCP ------------------------------------------------------------------------------------

def test_gcp_specs_and_records() -> None:
    assert key_from_spec("gcp_kms", {"resource_id": GCP}).to_string() == GCP
    keys = parse_resource_ids(f" {GCP} ,{GCP.replace('sops', 'other')}")
    assert [k.resource_id for k in keys] == [GCP, GCP.replace("sops", "other")]
    record = KeyRecord("gcp_kms", {"resource_id": GCP, "created_at": "2024-01-01T00:00:00Z", "enc": "QUJD"})
    key = key_from_record(record)
    assert isinstance(key, GcpKmsKey)
    assert key.to_record("QUJD", "2024-01-01T00:00:00Z").fields == record.fields
    for bad in ("projects/p/keyRings/r/cryptoKeys/k", "", "projects/p/locations/l/keyRings/r/cryptoKeys/"):
        with pytest.raises(ConfigError):
            GcpKmsKey(bad)
    with pytest.raises(FormatError):
        key_from_record(KeyRecord("gcp_kms", {"resource_id": "x"}))


def test_gcp_missing_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud", None)
    monkeypatch.setitem(sys.modules, "google.cloud.kms", None)
    with pytest.raises(MissingExtraError) as caught:
        GcpKmsKey(GCP).encrypt(b"k" * 32, now=NOW, context=KeyContext(env={}))
    assert caught.value.extra == "gcp"
    record = GcpKmsKey(GCP).to_record("QUJD", "2024-01-01T00:00:00Z")
    with pytest.raises(MissingExtraError):
        GcpKmsKey(GCP).decrypt(record, context=KeyContext(env={}))


# -- Azure ----------------------------------------------------------------------------------

def test_azure_url_and_object_specs() -> None:
    url = "https://myvault.vault.azure.net/keys/sops-key/0123456789abcdef"
    key = key_from_spec("azure_kv", url)
    assert isinstance(key, AzureKvKey)
    assert (key.vault_url, key.name, key.version) == ("https://myvault.vault.azure.net", "sops-key",
                                                       "0123456789abcdef")
    assert key.to_string() == url
    unversioned = parse_key_urls("https://v.vault.azure.net/keys/k, https://w.vault.azure.net/keys/j/")
    assert [(k.vault_url, k.name, k.version) for k in unversioned] == [
        ("https://v.vault.azure.net", "k", ""), ("https://w.vault.azure.net", "j", "")]
    obj = AzureKvKey.from_spec({"vaultUrl": "https://v.vault.azure.net", "key": "k", "version": "v1"})
    assert obj == AzureKvKey("https://v.vault.azure.net", "k", "v1")
    for bad in ("https://v.vault.azure.net/secrets/k", "v.vault.azure.net/keys/k", "https://v/keys"):
        with pytest.raises(ConfigError):
            AzureKvKey.from_url(bad)


def test_azure_records_and_ciphertext_encoding() -> None:
    fields = {"vault_url": "https://v.vault.azure.net", "name": "k", "version": "v1",
              "created_at": "2024-01-01T00:00:00Z", "enc": "AP_-"}
    key = key_from_record(KeyRecord("azure_kv", fields))
    assert isinstance(key, AzureKvKey)
    assert key.to_record("AP_-", "2024-01-01T00:00:00Z").fields == fields
    blob = bytes([0, 255, 254, 62, 63])
    encoded = encode_ciphertext(blob)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert decode_ciphertext(encoded) == blob == decode_ciphertext(encoded + "===")


def test_azure_missing_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("azure.identity", "azure.keyvault", "azure.keyvault.keys", "azure.keyvault.keys.crypto"):
        monkeypatch.setitem(sys.modules, name, None)
    key = AzureKvKey("https://v.vault.azure.net", "k", "v1")
    with pytest.raises(MissingExtraError) as caught:
        key.encrypt(b"k" * 32, now=NOW, context=KeyContext(env={}))
    assert caught.value.extra == "azure"


# -- HuaweiCloud ----------------------------------------------------------------------------

def test_hckms_specs_and_records() -> None:
    key = key_from_spec("hckms", {"key_id": HCKMS})
    assert isinstance(key, HcKmsKey) and (key.region, key.to_string()) == ("cn-north-4", HCKMS)
    record = KeyRecord("hckms", {"key_id": HCKMS, "created_at": "2024-01-01T00:00:00Z", "enc": "cipher"})
    loaded = key_from_record(record)
    assert isinstance(loaded, HcKmsKey)
    assert loaded.to_record("cipher", "2024-01-01T00:00:00Z").fields == record.fields
    for bad in ("no-region", "", "a:b:c"):
        with pytest.raises(ConfigError):
            HcKmsKey(bad)


def test_hckms_missing_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huaweicloudsdkcore", None)
    monkeypatch.setitem(sys.modules, "huaweicloudsdkcore.auth.credentials", None)
    with pytest.raises(MissingExtraError) as caught:
        HcKmsKey(HCKMS).encrypt(b"k" * 32, now=NOW, context=KeyContext(env={}))
    assert caught.value.extra == "hckms"
