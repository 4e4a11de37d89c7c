"""HuaweiCloud KMS master keys (sops 3.12+), through the HuaweiCloud Python SDK.

A key ID is ``<region>:<key-uuid>``; the data key is sent base64-encoded with algorithm
``SYMMETRIC_DEFAULT`` and ``enc`` is the cipher text string HuaweiCloud returns. The record
holds ``key_id``, ``created_at`` and ``enc``. Credentials come from the SDK's environment
variables (``HUAWEICLOUD_SDK_AK``, ``HUAWEICLOUD_SDK_SK``, ``HUAWEICLOUD_SDK_PROJECT_ID``).

The SDK (``huaweicloudsdkkms``) is imported only when a key is used; it is not yet one of
sopskit's extras, so the error names an ``hckms`` extra to be added.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
from typing import Any, ClassVar

from sopskit.errors import ConfigError, MasterKeyError, MissingExtraError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, SingleIdKey, quote_key_input, timestamp_of

_KEY_ID = re.compile(r"^(?P<region>[^:\s]+):(?P<uuid>[^:\s]+)$")


class HcKmsKey(SingleIdKey):
    """One HuaweiCloud KMS key."""

    key_type: ClassVar[str] = "hckms"
    id_field: ClassVar[str] = "key_id"

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id.strip()
        match = _KEY_ID.match(self.key_id)
        if not match:
            raise ConfigError(f"hckms: {quote_key_input(self.key_id)} is not of the form <region>:<key-uuid>")
        self.region = match.group("region")
        self.uuid = match.group("uuid")

    def to_string(self) -> str:
        return self.key_id

    def _client(self, context: KeyContext) -> tuple[Any, Any]:
        try:
            from huaweicloudsdkcore.auth.credentials import BasicCredentials
            from huaweicloudsdkkms.v2 import KmsClient, model
            from huaweicloudsdkkms.v2.region.kms_region import KmsRegion
        except ImportError:
            raise MissingExtraError("HuaweiCloud KMS", "hckms") from None
        env = context.env
        credentials = BasicCredentials(env.get("HUAWEICLOUD_SDK_AK"), env.get("HUAWEICLOUD_SDK_SK"),
                                       env.get("HUAWEICLOUD_SDK_PROJECT_ID"))
        client = (KmsClient.new_builder().with_credentials(credentials)
                  .with_region(KmsRegion.value_of(self.region)).build())
        return client, model

    def _guard(self, what: str, call: Any) -> Any:
        try:
            return call()
        except MissingExtraError:
            raise
        except Exception as exc:  # the SDK raises its own exception types; translate here
            raise MasterKeyError(f"hckms: {what} with {self.key_id} failed: {type(exc).__name__}") from exc

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        client, model = self._guard("connecting", lambda: self._client(context))
        body = model.EncryptDataRequestBody(
            key_id=self.uuid, plain_text=base64.b64encode(data_key).decode(),
            encryption_algorithm="SYMMETRIC_DEFAULT",
        )
        response = self._guard("encrypt", lambda: client.encrypt_data(model.EncryptDataRequest(body=body)))
        return self.to_record(str(response.cipher_text), timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        client, model = self._guard("connecting", lambda: self._client(context))
        body = model.DecryptDataRequestBody(cipher_text=record.enc, key_id=self.uuid,
                                            encryption_algorithm="SYMMETRIC_DEFAULT")
        response = self._guard("decrypt", lambda: client.decrypt_data(model.DecryptDataRequest(body=body)))
        try:
            return base64.b64decode(str(response.plain_text), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MasterKeyError(f"hckms: {self.key_id} returned a plaintext that is not base64") from exc
