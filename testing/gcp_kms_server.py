"""An in-process fake Google Cloud KMS (encrypt/decrypt over REST) for tests, over HTTPS.

No Cloud KMS is reachable from the test machines, so this module speaks the REST mapping of
``google.cloud.kms.v1.KeyManagementService`` (the ``google.api.http`` annotations of
``google/cloud/kms/v1/service.proto``, which the ``google-cloud-kms`` client's REST transport is
generated from) for the two calls sops makes: ``Encrypt`` and ``Decrypt``.
``tests/keys/test_gcp_kms_spec.py`` checks routes and bodies against the installed client's own
description of them (its transport's ``http_options`` and the proto message fields).

* ``POST /v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt`` with
  ``{"plaintext": base64, "additionalAuthenticatedData"?, "plaintextCrc32c"?, ...}``, answered
  ``{"name": <primary cryptoKeyVersion>, "ciphertext", "ciphertextCrc32c", "verifiedPlaintextCrc32c",
  "protectionLevel"}``; ``POST /v1/{name=.../cryptoKeys/*}:decrypt`` with ``{"ciphertext"}``,
  answered ``{"plaintext", "plaintextCrc32c", "usedPrimary", "protectionLevel"}``. int64 fields
  are JSON strings, bytes standard base64, as proto3 JSON says.
* **Real cryptography**: every key version is a 256-bit AES-GCM key (``cryptography``); the
  ciphertext is a made-up envelope (version number, nonce, GCM output) whose AAD binds the key
  name and the caller's additional data. Real Cloud KMS ciphertexts are opaque too.
* **Versions**: :meth:`FakeCloudKms.rotate` adds a primary version; older ones still decrypt.
* **Authentication and IAM**: ``Authorization: Bearer <token>``; no or unknown token gives the
  ``401`` ``UNAUTHENTICATED`` ``google.rpc.Status`` body, a token without the
  ``cloudkms.cryptoKeyVersions.useToEncrypt``/``useToDecrypt`` permission (on every key, or on
  the crypto keys listed in :attr:`GcpPrincipal.keys`, as key-level IAM bindings) the ``403``
  ``PERMISSION_DENIED`` one, an unknown key ``404`` ``NOT_FOUND``, a tampered ciphertext ``400``
  ``INVALID_ARGUMENT`` -- the bodies ``google.api_core`` maps to its exceptions.
* **Observation**: :attr:`FakeCloudKms.requests` (method, path, status, operation; bodies only
  when :attr:`FakeCloudKms.capture_bodies` is set).

Not implemented (see docs/cloud-keys.md): asymmetric keys, MACs, key creation and IAM policy
APIs, key states (disabled/destroyed versions), CRC32C *verification* of requests (the answers
carry correct CRCs), gRPC, quotas, regional endpoints and the real ciphertext format.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import struct
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from testing.certs import TlsFiles
from testing.serve import QuietHandler, count_requests, start_server, stop_server

__all__ = ["DECRYPT", "ENCRYPT", "FakeCloudKms", "GcpPrincipal", "GcpRequest", "crc32c"]

ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
DECRYPT = "cloudkms.cryptoKeyVersions.useToDecrypt"
_ROUTE = re.compile(
    r"^/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+(?:/[^:]*)?):(encrypt|decrypt)$")
_MAGIC = b"SKFK"  # sopskit fake KMS envelope


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli), as the KMS API's ``*Crc32c`` fields carry."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@dataclass
class GcpPrincipal:
    """A caller and its IAM grant: ``permissions`` on the crypto keys in ``keys`` (``None``: on
    every key, like a grant on the project; a set: like bindings on single CryptoKeys)."""

    name: str
    permissions: frozenset[str] = frozenset({ENCRYPT, DECRYPT})
    keys: frozenset[str] | None = None


@dataclass
class GcpRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    operation: str | None = None
    principal: str | None = None
    request_json: Any = None
    response_json: Any = None


@dataclass
class _Key:
    versions: list[bytes] = field(default_factory=list)


class _Status(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> dict[str, Any]:
        """``google.rpc.Status`` in the JSON error envelope of Google REST APIs."""
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


class FakeCloudKms:
    """The fake service. Use as a context manager; :attr:`endpoint` is the ``api_endpoint``."""

    def __init__(self, tls: TlsFiles) -> None:
        self.tls = tls
        self.keys: dict[str, _Key] = {}
        self.tokens: dict[str, GcpPrincipal] = {}
        self.requests: list[GcpRequest] = []
        self.capture_bodies = False
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_key(self, resource_id: str) -> None:
        self.keys[resource_id] = _Key([AESGCM.generate_key(bit_length=256)])

    def rotate(self, resource_id: str) -> int:
        """Add a new primary version; return its number (1-based, as cryptoKeyVersions are)."""
        self.keys[resource_id].versions.append(AESGCM.generate_key(bit_length=256))
        return len(self.keys[resource_id].versions)

    def grant(self, principal: GcpPrincipal) -> str:
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        self.tokens[token] = principal
        return token

    def count(self, operation: str | None = None, *, status: int | None = 200) -> int:
        return count_requests(self.requests, self._lock, operation, status)

    @property
    def endpoint(self) -> str:
        assert self._httpd is not None, "start the fake first"
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeCloudKms:
        handler = type("Handler", (_Handler,), {"kms": self})
        self._httpd, self._thread = start_server(handler, "fake-cloud-kms", self.tls)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_server(self._httpd, self._thread)

    # -- request handling -------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes, record: GcpRequest) -> dict[str, Any]:
        match = _ROUTE.match(path)
        record.operation = match.group(2) if match else None
        auth = str(headers.get("Authorization") or "")
        scheme, _, token = auth.partition(" ")
        principal = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if principal is None:
            raise _Status(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                          "Expected OAuth 2 access token, login cookie or other valid authentication "
                          "credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
        record.principal = principal.name
        if method != "POST" or not match:
            raise _Status(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")
        name, operation = match.group(1), match.group(2)
        if operation == "decrypt" and "/cryptoKeyVersions/" in name:
            raise _Status(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")
        key_name = name.split("/cryptoKeyVersions/")[0]
        permission = ENCRYPT if operation == "encrypt" else DECRYPT
        if permission not in principal.permissions or (
                principal.keys is not None and key_name not in principal.keys):
            raise _Status(403, "PERMISSION_DENIED", f"Permission '{permission}' denied on resource "
                          f"'{name}' (or it may not exist).")
        key = self.keys.get(key_name)
        if key is None:
            raise _Status(404, "NOT_FOUND", f"CryptoKey {key_name} not found.")
        try:
            params = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise _Status(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        if not isinstance(params, dict):
            raise _Status(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        aad = self._bytes(params, "additionalAuthenticatedData")
        bound = key_name.encode() + b"\0" + aad
        if operation == "encrypt":
            plaintext = self._bytes(params, "plaintext", required=True)
            number = len(key.versions)
            nonce = os.urandom(12)
            sealed = AESGCM(key.versions[-1]).encrypt(nonce, plaintext, bound)
            blob = _MAGIC + struct.pack(">I", number) + nonce + sealed
            return {
                "name": f"{key_name}/cryptoKeyVersions/{number}",
                "ciphertext": base64.b64encode(blob).decode(),
                "ciphertextCrc32c": str(crc32c(blob)),
                "verifiedPlaintextCrc32c": "plaintextCrc32c" in params,
                "verifiedAdditionalAuthenticatedDataCrc32c": "additionalAuthenticatedDataCrc32c" in params,
                "protectionLevel": "SOFTWARE",
            }
        blob = self._bytes(params, "ciphertext", required=True)
        try:
            if blob[:4] != _MAGIC:
                raise ValueError
            (number,) = struct.unpack(">I", blob[4:8])
            if not 1 <= number <= len(key.versions):
                raise ValueError
            plaintext = AESGCM(key.versions[number - 1]).decrypt(blob[8:20], blob[20:], bound)
        except (ValueError, InvalidTag, struct.error):
            raise _Status(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.") from None
        return {"plaintext": base64.b64encode(plaintext).decode(), "plaintextCrc32c": str(crc32c(plaintext)),
                "usedPrimary": number == len(key.versions), "protectionLevel": "SOFTWARE"}

    @staticmethod
    def _bytes(params: dict[str, Any], name: str, *, required: bool = False) -> bytes:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise _Status(400, "INVALID_ARGUMENT", f"{name} is required.")
            return b""
        try:
            return base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            try:  # proto3 JSON accepts URL-safe base64 too
                return base64.urlsafe_b64decode(str(value))
            except (binascii.Error, ValueError):
                raise _Status(400, "INVALID_ARGUMENT", f"Invalid value at '{name}' (TYPE_BYTES).") from None


class _Handler(QuietHandler):
    kms: FakeCloudKms

    def _serve(self) -> None:
        parts, body = self.read_request()
        record = GcpRequest(self.command, parts.path, parse_qs(parts.query), 0)
        try:
            payload = self.kms.handle(self.command, parts.path, self.headers, body, record)
            record.status = 200
        except _Status as err:
            record.status = err.code
            payload = err.body()
        if self.kms.capture_bodies:
            record.request_json = json.loads(body) if body else None
            record.response_json = payload
        with self.kms._lock:
            self.kms.requests.append(record)
        data = json.dumps(payload).encode()
        self.send_body(record.status, [("Content-Type", "application/json; charset=UTF-8")], data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
