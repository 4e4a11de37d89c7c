"""AWS KMS keys against moto's in-process KMS/STS, plus spec and record parsing."""

from __future__ import annotations

import base64
import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sopskit.errors import (
    ConfigError,
    DataKeyUnavailableError,
    FormatError,
    MasterKeyError,
    MissingExtraError,
)
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.keys import key_from_record, key_from_spec
from sopskit.keys.base import KeyContext
from sopskit.keys.datakey import recover_data_key, wrap_data_key
from sopskit.keys.kms import KmsKey, parse_arns, parse_encryption_context

NOW = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
DATA_KEY = b"K" * 32
ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/sops"


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    try:
        import moto
    except ImportError:  # a test dependency of the aws extra: never pass CI by skipping
        if os.environ.get("CI"):
            pytest.fail("moto is not installed")
        pytest.skip("moto is not installed")
    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with moto.mock_aws():
        import boto3

        yield boto3.client("kms", region_name="eu-west-1")


def _real_key(kms: Any) -> str:
    arn: str = kms.create_key(Description="sopskit test")["KeyMetadata"]["Arn"]
    return arn


def test_round_trip_with_context_and_record_fields(aws: Any) -> None:
    arn = _real_key(aws)
    key = KmsKey.from_spec({"arn": arn, "context": {"app": "web", "env": "prod"}})
    record = key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert record.fields == {
        "arn": arn, "context": {"app": "web", "env": "prod"}, "created_at": "2024-03-04T05:06:07Z",
        "enc": record.enc, "aws_profile": "",
    }
    blob = base64.b64decode(record.enc, validate=True)
    # an independent client agrees: same ciphertext, same context
    peer = aws.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "web", "env": "prod"})
    assert peer["Plaintext"] == DATA_KEY
    assert key_from_record(record).decrypt(record, context=KeyContext(env={})) == DATA_KEY


def test_wrong_context_fails_without_secrets(aws: Any) -> None:
    arn = _real_key(aws)
    record = KmsKey(arn, context={"app": "web"}).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    tampered = KeyRecord("kms", {**record.fields, "context": {"app": "other"}})
    with pytest.raises(MasterKeyError) as caught:
        key_from_record(tampered).decrypt(tampered, context=KeyContext(env={}))
    assert arn in str(caught.value) and DATA_KEY.decode() not in str(caught.value)


def test_peer_wrapped_blob_unwraps(aws: Any) -> None:
    arn = _real_key(aws)
    blob = aws.encrypt(KeyId=arn, Plaintext=DATA_KEY)["CiphertextBlob"]
    record = KeyRecord("kms", {"arn": arn, "created_at": "2024-01-01T00:00:00Z",
                               "enc": base64.b64encode(blob).decode(), "aws_profile": ""})
    assert key_from_record(record).decrypt(record, context=KeyContext(env={})) == DATA_KEY


def test_role_is_assumed_and_recorded(aws: Any) -> None:
    arn = _real_key(aws)
    key = key_from_spec("kms", f"{arn}+{ROLE}")
    assert isinstance(key, KmsKey) and key.role == ROLE
    record = key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert record.fields["role"] == ROLE and "context" not in record.fields
    assert key_from_record(record).decrypt(record, context=KeyContext(env={})) == DATA_KEY


def test_cli_encryption_context_applies_to_new_keys(aws: Any) -> None:
    arn = _real_key(aws)
    context = KeyContext(env={}, encryption_context=parse_encryption_context("a:1,b:2"))
    record = KmsKey(arn).encrypt(DATA_KEY, now=NOW, context=context)
    assert record.fields["context"] == {"a": "1", "b": "2"}


def test_unknown_key_fails_in_datakey_report(aws: Any) -> None:
    missing = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    with pytest.raises(MasterKeyError) as caught:
        wrap_data_key(DATA_KEY, [[KmsKey(missing)]], 0, now=NOW, rng=bytes, context=KeyContext(env={}))
    assert missing in str(caught.value)
    record = KeyRecord("kms", {"arn": missing, "created_at": "2024-01-01T00:00:00Z",
                               "enc": base64.b64encode(b"junk").decode(), "aws_profile": ""})
    with pytest.raises(DataKeyUnavailableError) as report:
        recover_data_key(Metadata(key_groups=[[record]]), context=KeyContext(env={}))
    assert [(o.key_type, o.key) for o in report.value.outcomes] == [("kms", missing)]
    assert report.value.outcomes[0].error


@pytest.mark.parametrize("spec", [
    "arn:aws:s3:::bucket", "not-an-arn", "arn:aws:kms:eu-west-1:abc:key/x", "",
])
def test_bad_arns(spec: str) -> None:
    with pytest.raises(ConfigError):
        key_from_spec("kms", spec)


def test_spec_forms() -> None:
    alias = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/sops"
    keys = parse_arns(f" {ARN}+{ROLE} , {alias}", context={"k": "v"}, aws_profile="dev")
    assert [(k.arn, k.role, k.context, k.aws_profile, k.region) for k in keys] == [
        (ARN, ROLE, {"k": "v"}, "dev", "eu-west-1"), (alias, "", {"k": "v"}, "dev", "us-gov-west-1")]
    obj = KmsKey.from_spec({"arn": ARN, "role": ROLE, "context": {"x": 1}, "aws_profile": "p"})
    assert (obj.context, obj.aws_profile, obj.to_string()) == ({"x": "1"}, "p", ARN)
    with pytest.raises(ConfigError):
        parse_encryption_context("novalue")


def test_record_parsing_and_serialisation() -> None:
    record = KeyRecord("kms", {"arn": ARN, "role": ROLE, "context": {"b": "2", "a": "1"},
                               "created_at": "2024-01-01T00:00:00Z", "enc": "AAAA", "aws_profile": "x"})
    key = key_from_record(record)
    assert isinstance(key, KmsKey)
    assert key.to_record("AAAA", "2024-01-01T00:00:00Z").fields == record.fields
    minimal = KmsKey(ARN).to_record("QQ==", "2024-01-01T00:00:00Z").fields
    assert list(minimal) == ["arn", "created_at", "enc", "aws_profile"] and minimal["aws_profile"] == ""
    with pytest.raises(FormatError):
        key_from_record(KeyRecord("kms", {"arn": "bogus"}))


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "botocore", None)
    monkeypatch.setitem(sys.modules, "botocore.exceptions", None)
    with pytest.raises(MissingExtraError) as caught:
        KmsKey(ARN).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert caught.value.extra == "aws" and "sopskit[aws]" in (caught.value.hint or "")
