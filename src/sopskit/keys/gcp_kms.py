"""Google Cloud KMS master keys (the ``gcp`` extra: google-cloud-kms, imported when used).

A key is a resource ID ``projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>``; the record
holds ``resource_id``, ``created_at`` and ``enc`` (standard base64 of the ciphertext).
Credentials follow sops: ``GOOGLE_CREDENTIALS`` (a file path or the JSON itself), then
``GOOGLE_OAUTH_ACCESS_TOKEN``, then application-default credentials; ``SOPS_GCP_KMS_ENDPOINT``
overrides the API endpoint (``host:port`` for gRPC as in sops; an ``https://`` URL uses the
client's REST transport instead).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
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
        try:
            from google.cloud import kms
        except ImportError:
            raise MissingExtraError("GCP KMS", "gcp") from None
        options = {}
        endpoint = context.env.get("SOPS_GCP_KMS_ENDPOINT")
        if endpoint:
            options["api_endpoint"] = endpoint
        # sops speaks gRPC to host:port endpoints; an http(s):// URL selects the client's REST
        # transport (JSON over HTTPS, proxies and CA bundles as for any requests session)
        transport = "rest" if endpoint and endpoint.startswith(("https://", "http://")) else None
        return kms.KeyManagementServiceClient(
            credentials=_credentials(context), client_options=options or None, transport=transport
        )

    def _call(self, operation: str, context: KeyContext, request: dict[str, Any]) -> Any:
        client = self._client(context)
        try:
            return getattr(client, operation)(request=request)
        except Exception as exc:  # google.api_core raises many types; translate them all here
            raise MasterKeyError(
                f"gcp_kms: {operation} with {self.resource_id} failed: {type(exc).__name__}"
            ) from exc

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
