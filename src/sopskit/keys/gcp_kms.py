"""Google Cloud KMS master keys (the ``gcp`` extra: google-cloud-kms, imported when used).

A key is a resource ID ``projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>``; the record
holds ``resource_id``, ``created_at`` and ``enc`` (standard base64 of the ciphertext).
Credentials follow sops: ``GOOGLE_CREDENTIALS`` (a file path or the JSON itself), then
``GOOGLE_OAUTH_ACCESS_TOKEN``, then application-default credentials. As in sops 3.12/3.13:
``SOPS_GCP_KMS_ENDPOINT`` overrides the API endpoint, else ``SOPS_GCP_KMS_UNIVERSE_DOMAIN``
selects another universe (alternative clouds using GCP's API); ``SOPS_GCP_KMS_CLIENT_TYPE``
``rest`` (any case) uses the REST transport, anything else gRPC; an ``https://`` endpoint
also selects REST (sops speaks gRPC to ``host:port`` endpoints).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from sopskit.errors import ConfigError, FormatError, MasterKeyError, MissingExtraError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, SingleIdKey, quote_key_input, split_key_list, timestamp_of

_RESOURCE_ID = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")


class GcpKmsKey(SingleIdKey):
    """One Google Cloud KMS crypto key."""

    key_type: ClassVar[str] = "gcp_kms"
    id_field: ClassVar[str] = "resource_id"

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id.strip()
        if not _RESOURCE_ID.match(self.resource_id):
            raise ConfigError(f"gcp_kms: {quote_key_input(self.resource_id)} is not a GCP KMS resource ID")

    def to_string(self) -> str:
        return self.resource_id

    def _client(self, context: KeyContext) -> Any:
        """One client for the whole run (every key of every file opened with ``context``): the
        client depends only on the context's environment, and a new one per file would fetch
        a new access token per file (application-default credentials ask the metadata server
        or Google's token endpoint)."""
        try:
            from google.cloud import kms
        except ImportError:
            raise MissingExtraError("GCP KMS", "gcp") from None
        options, transport = client_settings(context.env)
        return context.service_client(("gcp_kms",), lambda: kms.KeyManagementServiceClient(
            credentials=_credentials(context), client_options=options or None, transport=transport
        ))

    def _call(self, operation: str, context: KeyContext, request: dict[str, Any]) -> Any:
        # the client is built inside the guard: without credentials google.auth raises
        # DefaultCredentialsError from the constructor, before any request is made
        try:
            return getattr(self._client(context), operation)(request=request)
        except (MissingExtraError, ConfigError):
            raise
        except Exception as exc:  # google.auth / google.api_core raise many types; translate them here
            raise MasterKeyError(f"gcp_kms: {operation} with {self.resource_id} failed: {_reason(exc)}") from exc

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        response = self._call("encrypt", context, {"name": self.resource_id, "plaintext": data_key})
        return self.to_record(base64.b64encode(response.ciphertext).decode(), timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        try:
            blob = base64.b64decode(record.enc, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FormatError(f"gcp_kms: the encrypted data key of {self.resource_id} is not base64") from exc
        response = self._call("decrypt", context, {"name": self.resource_id, "ciphertext": blob})
        plain: bytes = response.plaintext
        return plain


def client_settings(env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """``(client_options, transport)`` from the ``SOPS_GCP_KMS_*`` variables, as sops."""
    options = {}
    if endpoint := env.get("SOPS_GCP_KMS_ENDPOINT"):
        options["api_endpoint"] = endpoint
    elif universe := env.get("SOPS_GCP_KMS_UNIVERSE_DOMAIN"):
        options["universe_domain"] = universe
    rest = env.get("SOPS_GCP_KMS_CLIENT_TYPE", "").lower() == "rest" or options.get("api_endpoint", "").startswith(
        ("https://", "http://"))
    transport = "rest" if rest else "grpc"
    return options, transport


def _reason(exc: Exception) -> str:
    """What to tell the user; SDK messages name files and endpoints, never key material."""
    name = type(exc).__name__
    if name == "DefaultCredentialsError":
        return ("no Google credentials found (set GOOGLE_CREDENTIALS or GOOGLE_OAUTH_ACCESS_TOKEN, "
                "or configure application-default credentials)")
    if isinstance(exc, OSError):
        return f"{name}: {exc.strerror or exc}"
    return name


def _credentials(context: KeyContext) -> Any:
    """sops's credential order; None means application-default credentials."""
    raw = context.env.get("GOOGLE_CREDENTIALS")
    if raw:
        from google.oauth2 import service_account

        text = raw if raw.lstrip().startswith("{") else Path(raw).read_text()
        try:
            info = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("GOOGLE_CREDENTIALS is neither a JSON credentials file nor JSON") from exc
        # google-auth is untyped where installed (the gcp extra) and absent otherwise
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call,unused-ignore]
            info, scopes=["https://www.googleapis.com/auth/cloudkms"]
        )
    token = context.env.get("GOOGLE_OAUTH_ACCESS_TOKEN")
    if token:
        from google.oauth2.credentials import Credentials

        return Credentials(token)  # type: ignore[no-untyped-call,unused-ignore]
    return None


def parse_resource_ids(text: str) -> list[GcpKmsKey]:
    """``--gcp-kms`` / ``SOPS_GCP_KMS_IDS`` / rule-level ``gcp_kms``: comma-separated IDs."""
    return [GcpKmsKey(item) for item in split_key_list(text)]
