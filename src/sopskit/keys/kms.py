"""AWS KMS master keys through boto3 (the ``aws`` extra, imported only when used).

A key is an ARN (``arn:aws…:kms:<region>:<account>:key/…`` or ``…:alias/…``), optionally
``<key ARN>+<role ARN>`` to assume a role first, an encryption context (string map) and a
shared-config profile. The region comes from the ARN. The record holds ``arn``, ``role`` and
``context`` (both omitted when empty), ``created_at``, ``enc`` (standard base64 of the
ciphertext blob) and ``aws_profile`` (always written, possibly empty).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from sopskit.errors import ConfigError, FormatError, MasterKeyError, MissingExtraError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, quote_key_input, split_key_list, timestamp_of

_ARN = re.compile(r"^arn:aws[\w-]*:kms:(?P<region>[^:]+):[0-9]+:(?:key|alias)/.+$")
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")
_SESSION_NAME_MAX = 64
#: KMS clients shared by the process (see ``KmsKey._client``): key -> (client, usable until)
_CLIENTS: dict[tuple[str, str, str, str], tuple[Any, float | None]] = {}
_CLIENTS_LOCK = threading.Lock()
#: an assumed role's credentials last an hour by default (STS ``DurationSeconds``): rebuild
#: the client well before, so a long run never uses expired credentials
_ROLE_CLIENT_SECONDS = 30 * 60


def parse_encryption_context(text: str) -> dict[str, str]:
    """``--encryption-context k1:v1,k2:v2``; raises ConfigError on an item without ``:``."""
    context = {}
    for item in split_key_list(text):
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise ConfigError(f"encryption context item {quote_key_input(item)} is not of the form key:value")
        context[name] = value
    return context


def _string_map(value: Any, what: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"kms: {what} must be a map of strings")
    return {str(k): str(v) for k, v in value.items()}


def _session_name() -> str:
    name = _SESSION_NAME_UNSAFE.sub("", f"sops@{socket.gethostname()}")
    return name[:_SESSION_NAME_MAX]


class KmsKey:
    """One AWS KMS key (with optional role, encryption context and profile)."""

    key_type: ClassVar[str] = "kms"

    def __init__(self, arn: str, role: str = "", context: Mapping[str, str] | None = None,
                 aws_profile: str = "") -> None:
        self.arn = arn.strip()
        self.role = role.strip()
        self.context = dict(context or {})
        self.aws_profile = aws_profile
        match = _ARN.match(self.arn)
        if not match:
            raise ConfigError(f"kms: {quote_key_input(self.arn)} is not a KMS key ARN")
        self.region = match.group("region")

    def __repr__(self) -> str:
        return f"KmsKey({quote_key_input(self.arn)}, role={self.role!r}, profile={self.aws_profile!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KmsKey) and (
            (other.arn, other.role, other.context, other.aws_profile)
            == (self.arn, self.role, self.context, self.aws_profile)
        )

    def __hash__(self) -> int:
        return hash(("kms", self.arn, self.role, self.aws_profile))

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> KmsKey:
        """``arn[+role]`` from the CLI, or ``{arn, role, context, aws_profile}`` from a group."""
        if isinstance(spec, Mapping):
            return cls(
                str(spec.get("arn") or ""), str(spec.get("role") or ""),
                _string_map(spec.get("context"), "context"), str(spec.get("aws_profile") or ""),
            )
        arn, _, role = spec.strip().partition("+")
        return cls(arn, role)

    @classmethod
    def from_record(cls, record: KeyRecord) -> KmsKey:
        fields = record.fields
        return cls(
            str(fields.get("arn") or ""), str(fields.get("role") or ""),
            _string_map(fields.get("context"), "context"), str(fields.get("aws_profile") or ""),
        )

    def to_string(self) -> str:
        return self.arn

    def to_record(self, enc: str, created_at: str) -> KeyRecord:
        fields: dict[str, Any] = {"arn": self.arn}
        if self.role:
            fields["role"] = self.role
        if self.context:
            fields["context"] = dict(self.context)
        fields.update({"created_at": created_at, "enc": enc, "aws_profile": self.aws_profile})
        return KeyRecord("kms", fields)

    # -- AWS ----------------------------------------------------------------------------------

    def _effective(self, context: KeyContext) -> tuple[dict[str, str], str]:
        """Context and profile for a new wrap: the key's own, else the command line's."""
        encryption_context = self.context or dict(context.encryption_context or {})
        return encryption_context, self.aws_profile or (context.aws_profile or "")

    def _client(self, profile: str) -> Any:
        """A KMS client for this key's region, profile and role, shared by the process.

        Building a boto3 session and client loads botocore's service models (a large part of
        a file's time against a nearby KMS), and a many-file run (``updatekeys``/``rotate`` on
        a directory, on a thread pool) would build two per file; boto3 clients are thread-safe,
        sessions are not, so one client per (region, profile, role, ``AWS_*`` environment) is
        built under a lock and shared. An assumed role's client is rebuilt before its
        temporary credentials expire.
        """
        try:
            import boto3
        except ImportError:
            raise MissingExtraError("AWS KMS", "aws") from None
        env = "\0".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("AWS_"))
        key = (self.region, profile, self.role, hashlib.sha256(env.encode()).hexdigest())
        with _CLIENTS_LOCK:
            cached = _CLIENTS.get(key)
            now = time.monotonic()
            if cached is not None and (cached[1] is None or cached[1] > now):
                return cached[0]
            session = boto3.Session(profile_name=profile or None, region_name=self.region)
            if not self.role:
                client = session.client("kms")
                _CLIENTS[key] = (client, None)
                return client
            sts = session.client("sts")
            creds = sts.assume_role(RoleArn=self.role, RoleSessionName=_session_name())["Credentials"]
            client = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=self.region,
            ).client("kms")
            _CLIENTS[key] = (client, now + _ROLE_CLIENT_SECONDS)
            return client

    def _call(self, operation: str, profile: str, **kwargs: Any) -> dict[str, Any]:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise MissingExtraError("AWS KMS", "aws") from None
        try:
            response: dict[str, Any] = getattr(self._client(profile), operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise MasterKeyError(f"kms: {operation} with {self.arn} failed: {code}") from exc
        except BotoCoreError as exc:  # no credentials, unreachable endpoint, unknown profile...
            # botocore's messages name profiles, files and endpoints, never key material
            detail = str(exc)[:200]
            raise MasterKeyError(
                f"kms: {operation} with {self.arn} failed: {type(exc).__name__}: {detail}"
            ) from exc
        return response

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        encryption_context, profile = self._effective(context)
        response = self._call("encrypt", profile, KeyId=self.arn, Plaintext=data_key,
                              EncryptionContext=encryption_context)
        enc = base64.b64encode(response["CiphertextBlob"]).decode()
        key = KmsKey(self.arn, self.role, encryption_context, self.aws_profile)
        return key.to_record(enc, timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        try:
            blob = base64.b64decode(record.enc, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FormatError(f"kms: the encrypted data key of {self.arn} is not base64") from exc
        # the record's context is authoritative: a CLI context only applies to new keys
        profile = self.aws_profile or (context.aws_profile or "")
        response = self._call("decrypt", profile, KeyId=self.arn, CiphertextBlob=blob,
                              EncryptionContext=self.context)
        plain: bytes = response["Plaintext"]
        return plain


def parse_arns(text: str, *, context: Mapping[str, str] | None = None, aws_profile: str = "") -> list[KmsKey]:
    """``--kms`` / ``SOPS_KMS_ARN`` / rule-level ``kms``: comma-separated ``arn[+role]``."""
    keys = []
    for item in split_key_list(text):
        key = KmsKey.from_spec(item)
        keys.append(KmsKey(key.arn, key.role, context, aws_profile))
    return keys
