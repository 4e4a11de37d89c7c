"""A made-up master-key backend for the "one module plus one table row" test.

It wraps the data key by XOR with SHA-256 of the key's name: no security at all, which is
the point: the test proves the plumbing (flags, .sops.yaml, metadata), not the crypto.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from typing import ClassVar

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, SingleIdKey, timestamp_of


def _xor(data: bytes, name: str) -> bytes:
    """XOR with a SHA-256 stream of the name (a Shamir share is longer than 32 bytes)."""
    pad = hashlib.sha256(name.encode()).digest() * (len(data) // 32 + 1)
    return bytes(a ^ b for a, b in zip(data, pad, strict=False))


class DummyKey(SingleIdKey):
    key_type: ClassVar[str] = "dummy"
    id_field: ClassVar[str] = "key_id"

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id.strip()
        if not self.key_id.startswith("dk-"):
            raise ConfigError(f"dummy: {self.key_id!r} does not start with dk-")

    def to_string(self) -> str:
        return self.key_id

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        wrapped = _xor(data_key, self.key_id)
        return self.to_record(base64.b64encode(wrapped).decode(), timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        if context.env.get("DUMMY_LOCKED"):
            raise MasterKeyError(f"dummy: {self.key_id} is locked")
        return _xor(base64.b64decode(record.enc), self.key_id)
