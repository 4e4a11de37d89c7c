"""An in-process fake Azure Key Vault (keys data plane) for tests, over HTTPS.

No Key Vault is reachable from the test machines, so this module speaks enough of the real keys
REST API (``specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.4/keys.json`` in
Azure/azure-rest-api-specs) that the official ``azure-keyvault-keys`` SDK, unmodified, works
against it. ``tests/keys/test_azure_kv_fake.py`` checks the routes and bodies against that
description.

What it implements, and why each part is there:

* **The bearer challenge** the SDK's ``ChallengeAuthPolicy`` performs: a request without an
  ``Authorization`` header is answered ``401`` with ``WWW-Authenticate: Bearer
  authorization="<authority>/<tenant>", resource="https://vault.azure.net"`` and the SDK then
  asks its credential for a token and retries. Tokens are opaque strings mapped to
  :class:`Principal` objects; an unknown token gets the service's ``401`` ``Unauthorized`` body.
* **Permissions**: a principal holds the key permissions it was granted (``get``, ``encrypt``,
  ``decrypt``, ``wrapKey``, ``unwrapKey``, ``list``) like a vault access policy; a missing one
  is the service's ``403`` ``Forbidden`` / ``ForbiddenByPolicy`` body.
* **Keys and versions**: RSA keys (``cryptography`` does the real RSA-OAEP-256 / RSA-OAEP), each
  with versions; ``GET /keys/{name}`` (latest), ``GET /keys/{name}/{version}``,
  ``GET /keys/{name}/versions``; :meth:`FakeKeyVault.rotate` adds a version. Unknown names and
  versions give the ``404`` ``KeyNotFound`` body.
* **Operations**: ``POST /keys/{name}/{version}/{encrypt,decrypt,wrapkey,unwrapkey}`` with a
  ``KeyOperationsParameters`` body (``alg``, base64url ``value``), answered with a
  ``KeyOperationResult`` (``kid``, ``value``). An empty version (``/keys/{name}//decrypt``, as
  the Go SDK sends for an unversioned key) means the latest version.
* **Real host names** through a local ``CONNECT`` proxy (:attr:`FakeKeyVault.proxy_url`, used
  as ``HTTPS_PROXY``): the SDK checks that the challenge's resource (``vault.azure.net``) is a
  suffix of the vault host, so tests use real-looking vault URLs such as
  ``https://sopskit.vault.azure.net`` and the proxy sends every tunnel to the fake, whose
  certificate names ``*.vault.azure.net``. Key identifiers (``kid``) use the requested host.
* **Azure AD's token endpoint**, so the real ``DefaultAzureCredential`` chain works in a
  subprocess: requests for ``login.microsoftonline.com`` (tunnelled by the same proxy) get the
  tenant's OpenID configuration and ``POST /{tenant}/oauth2/v2.0/token`` issues vault tokens for
  registered applications (:meth:`FakeKeyVault.register_app`), either with a client secret
  (``EnvironmentCredential``: ``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET``) or with a federated
  token as client assertion (``WorkloadIdentityCredential``: ``AZURE_FEDERATED_TOKEN_FILE``, what
  Flux's kustomize-controller uses with Azure workload identity). Wrong secrets get AAD's
  ``invalid_client`` answer.
* **Observation**: :attr:`FakeKeyVault.requests` logs method, path, query and status (never a
  body or a token); :meth:`FakeKeyVault.count` counts operations.

Not implemented (see docs/cloud-keys.md): EC and symmetric (``oct``) keys, managed HSM, sign and
verify, key creation/import/deletion over the API, paging beyond one page, key attributes such as
``exp``/``nbf`` enforcement, RBAC data actions (access-policy style only), throttling (429),
and the Azure AD token endpoint itself (tests give the SDK a fake credential object).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import select
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from testing.certs import TlsFiles
from testing.serve import QuietHandler, count_requests, start_server, stop_server

__all__ = ["ALL_PERMISSIONS", "VAULT_DNS_NAMES", "FakeCredential", "FakeKeyVault", "Principal",
           "RequestRecord", "b64url", "unb64url"]

TENANT = "72f988bf-0000-4000-8000-00000000cafe"
AUTHORITY = "https://login.microsoftonline.com"
RESOURCE = "https://vault.azure.net"
#: SAN entries the fake's certificate needs (``make_tls_files(dns_names=VAULT_DNS_NAMES)``)
VAULT_DNS_NAMES = ("*.vault.azure.net", "login.microsoftonline.com")
AAD_HOST = "login.microsoftonline.com"
ALL_PERMISSIONS = frozenset({"get", "list", "encrypt", "decrypt", "wrapKey", "unwrapKey"})
#: operation path segment -> (permission, is a private-key operation)
OPERATIONS = {
    "encrypt": ("encrypt", False),
    "decrypt": ("decrypt", True),
    "wrapkey": ("wrapKey", False),
    "unwrapkey": ("unwrapKey", True),
}
ALGORITHMS = {"RSA-OAEP-256": hashes.SHA256, "RSA-OAEP": hashes.SHA1}


def b64url(data: bytes) -> str:
    """base64url without padding, the spec's ``format: base64url``."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    stripped = text.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class Principal:
    """Who a token stands for, and the key permissions its access policy grants."""

    name: str
    permissions: frozenset[str] = ALL_PERMISSIONS
    object_id: str = field(default_factory=lambda: "0000-" + secrets.token_hex(4))


@dataclass
class _Version:
    version: str
    private: rsa.RSAPrivateKey
    created: int


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    principal: str | None
    status: int
    operation: str | None = None
    #: JSON bodies, kept only when :attr:`FakeKeyVault.capture_bodies` is set (spec checks)
    request_json: Any = None
    response_json: Any = None


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str, inner: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.inner = status, code, message, inner
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """``KeyVaultError`` (common.json): ``{"error": {"code", "message", "innererror"}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


class FakeKeyVault:
    """The fake vault. Use as a context manager; :attr:`url` is the ``vaultBaseUrl``."""

    def __init__(self, tls: TlsFiles, *, key_size: int = 2048) -> None:
        self.tls = tls
        self.key_size = key_size
        self.keys: dict[str, list[_Version]] = {}
        self.tokens: dict[str, Principal] = {}
        #: client_id -> (client secret or federated token, principal)
        self.apps: dict[str, tuple[str, Principal]] = {}
        self.requests: list[RequestRecord] = []
        self.capture_bodies = False
        #: most requests ever served at the same time (parallel clients show here)
        self.max_in_flight = 0
        #: seconds added to every answer, to model a service far away (benchmarks)
        self.latency = 0.0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._proxy: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._host = threading.local()

    # -- set-up -----------------------------------------------------------------------------

    def add_key(self, name: str) -> str:
        """Create an RSA key (or a new version of it); return the new version."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        version = secrets.token_hex(16)
        with self._lock:
            self.keys.setdefault(name, []).append(_Version(version, private, int(time.time())))
        return version

    rotate = add_key

    def grant(self, principal: Principal) -> str:
        """Issue a bearer token for ``principal``; return it."""
        token = "fake-aad-token-" + secrets.token_hex(12)
        self.tokens[token] = principal
        return token

    def register_app(self, client_id: str, credential: str, principal: Principal) -> None:
        """An app registration: ``credential`` is its secret or the federated token it presents."""
        self.apps[client_id] = (credential, principal)

    def latest(self, name: str) -> str:
        return self.keys[name][-1].version

    def count(self, operation: str | None = None, *, status: int | None = 200) -> int:
        """Requests of one operation (``decrypt``, ``get``, ...) that ended with ``status``."""
        return count_requests(self.requests, self._lock, operation, status)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the fake first"
        return int(self._httpd.server_address[1])

    @property
    def proxy_url(self) -> str:
        """``http://127.0.0.1:<port>``: set as ``HTTPS_PROXY`` to reach ``https://<x>.vault.azure.net``."""
        assert self._proxy is not None, "start the fake first"
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    def __enter__(self) -> FakeKeyVault:
        handler = type("Handler", (_Handler,), {"vault": self})
        self._httpd, thread = start_server(handler, "fake-key-vault", self.tls)
        self._threads.append(thread)
        proxy_handler = type("Proxy", (_Connect,), {"target": self.port})
        self._proxy, thread = start_server(proxy_handler, "fake-key-vault-proxy")
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_server(self._httpd, None)
        stop_server(self._proxy, None)
        for thread in self._threads:
            thread.join(timeout=5)

    # -- request handling -------------------------------------------------------------------

    def _version(self, name: str, version: str) -> _Version:
        versions = self.keys.get(name)
        if not versions:
            raise _Error(404, "KeyNotFound", f"A key with (name/id) {name} was not found in this key vault. "
                         "If you recently deleted this key you may be able to recover it using the "
                         "correct recovery command. For help resolving this issue, please see "
                         "https://go.microsoft.com/fwlink/?linkid=2125182")
        if not version:
            return versions[-1]
        for item in versions:
            if item.version == version:
                return item
        raise _Error(404, "KeyNotFound", f"A key with (name/id) {name}/{version} was not found in this "
                     "key vault. If you recently deleted this key you may be able to recover it using "
                     "the correct recovery command. For help resolving this issue, please see "
                     "https://go.microsoft.com/fwlink/?linkid=2125182")

    def _kid(self, name: str, version: str) -> str:
        host = getattr(self._host, "value", None) or f"127.0.0.1:{self.port}"
        return f"https://{host}/keys/{name}/{version}"

    def _attributes(self, item: _Version) -> dict[str, Any]:
        return {"enabled": True, "created": item.created, "updated": item.created,
                "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}

    def key_bundle(self, name: str, item: _Version) -> dict[str, Any]:
        """``KeyBundle``: the public JSON web key and its attributes."""
        numbers = item.private.public_key().public_numbers()
        return {
            "key": {
                "kid": self._kid(name, item.version), "kty": "RSA",
                "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                "n": _int_b64url(numbers.n), "e": _int_b64url(numbers.e),
            },
            "attributes": self._attributes(item),
        }

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
               body: bytes) -> tuple[int, dict[str, str], dict[str, Any] | None, RequestRecord]:
        record = RequestRecord(method, path, query, None, 0)
        host = str(headers.get("Host") or "")
        self._host.value = host[:-4] if host.endswith(":443") else host
        try:
            if self._host.value == AAD_HOST:
                record.operation = "aad"
                return self._aad(method, path, body, record)
            payload = self._route(method, path, query, headers, body, record)
            record.status = 200
            return 200, {}, payload, record
        except _Error as err:
            record.status = err.status
            return err.status, err.headers, err.body(), record

    def _aad(self, method: str, path: str, body: bytes,
             record: RequestRecord) -> tuple[int, dict[str, str], dict[str, Any] | None, RequestRecord]:
        """The two Azure AD endpoints MSAL uses for app-only tokens."""
        base = f"https://{AAD_HOST}/{TENANT}"
        if method == "GET" and path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            record.status = 200
            return 200, {}, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0", "token_endpoint_auth_methods_supported": [
                    "client_secret_post", "private_key_jwt", "client_secret_basic"],
            }, record
        if method == "GET" and path == "/common/discovery/instance":  # MSAL asks after a failure
            record.status = 200
            return 200, {}, {
                "tenant_discovery_endpoint": f"{base}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": AAD_HOST, "preferred_cache": "login.windows.net",
                              "aliases": [AAD_HOST, "login.windows.net", "login.microsoft.com",
                                          "sts.windows.net"]}],
            }, record
        if method == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            app = self.apps.get(form.get("client_id", ""))
            presented = form.get("client_secret") or form.get("client_assertion") or ""
            if app is None or not secrets.compare_digest(presented, app[0]):
                record.status = 401
                return 401, {}, {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                                         "secret being sent in the request is the client secret value.",
                    "error_codes": [7000215], "trace_id": "00000000-0000-0000-0000-000000000000",
                    "correlation_id": "00000000-0000-0000-0000-000000000000",
                }, record
            record.status = 200
            record.principal = app[1].name
            return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                             "access_token": self.grant(app[1])}, record
        record.status = 400
        return 400, {}, {"error": "invalid_request",
                         "error_description": f"AADSTS90002: Tenant or endpoint {path} not found."}, record

    def _route(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
               body: bytes, record: RequestRecord) -> dict[str, Any]:
        if not query.get("api-version"):
            raise _Error(400, "BadParameter", "The request URI must contain an api-version parameter.")
        auth = headers.get("Authorization") or ""
        if not auth:
            challenge = (f'Bearer authorization="{AUTHORITY}/{TENANT}", resource="{RESOURCE}"')
            raise _Error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                         headers={"WWW-Authenticate": challenge})
        scheme, _, token = auth.partition(" ")
        principal = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if principal is None:
            raise _Error(401, "Unauthorized", "AKV10032: Invalid issuer. Expected one of "
                         f"https://sts.windows.net/{TENANT}/, found an unknown issuer.",
                         headers={"WWW-Authenticate": f'Bearer authorization="{AUTHORITY}/{TENANT}", '
                                                      f'resource="{RESOURCE}"'})
        record.principal = principal.name
        segments = path.split("/")[1:]  # "" for an empty version is kept
        if len(segments) < 2 or segments[0] != "keys" or not segments[1]:
            raise _Error(404, "NotFound", "The requested resource was not found.")
        name = segments[1]
        rest = segments[2:]
        if method == "GET" and rest in ([], [""]):
            return self._get(principal, name, "", record)
        if method == "GET" and rest == ["versions"]:
            record.operation = "list"
            self._allow(principal, "list", name)
            self._version(name, "")
            items = [{"kid": self._kid(name, v.version), "attributes": self._attributes(v)}
                     for v in self.keys[name]]
            return {"value": items, "nextLink": None}
        if method == "GET" and len(rest) == 1:
            return self._get(principal, name, rest[0], record)
        if method == "POST" and len(rest) == 2 and rest[1] in OPERATIONS:
            return self._operate(principal, name, rest[0], rest[1], body, record)
        raise _Error(405 if rest and rest[-1] in OPERATIONS else 404, "NotFound",
                     "The requested resource was not found.")

    def _allow(self, principal: Principal, permission: str, name: str) -> None:
        if permission not in principal.permissions:
            raise _Error(403, "Forbidden",
                         f"The user, group or application 'appid=;oid={principal.object_id};"
                         f"iss=https://sts.windows.net/{TENANT}/' does not have keys {permission} "
                         f"permission on key vault 'fake;location=local'. For help resolving this issue, "
                         "please see https://go.microsoft.com/fwlink/?linkid=2125287",
                         inner="ForbiddenByPolicy")

    def _get(self, principal: Principal, name: str, version: str, record: RequestRecord) -> dict[str, Any]:
        record.operation = "get"
        self._allow(principal, "get", name)
        return self.key_bundle(name, self._version(name, version))

    def _operate(self, principal: Principal, name: str, version: str, operation: str, body: bytes,
                 record: RequestRecord) -> dict[str, Any]:
        record.operation = operation
        permission, private_op = OPERATIONS[operation]
        self._allow(principal, permission, name)
        item = self._version(name, version)
        try:
            params = json.loads(body or b"null")
        except json.JSONDecodeError:
            params = None
        if not isinstance(params, dict) or "alg" not in params or "value" not in params:
            raise _Error(400, "BadParameter", "Property 'alg' and 'value' are required.")
        hash_cls = ALGORITHMS.get(str(params["alg"]))
        if hash_cls is None:
            raise _Error(400, "BadParameter", f"Invalid algorithm {params['alg']!s:.40}.")
        try:
            value = unb64url(str(params["value"]))
        except (binascii.Error, ValueError):
            raise _Error(400, "BadParameter", "Property 'value' is not base64url.") from None
        pad = padding.OAEP(mgf=padding.MGF1(algorithm=hash_cls()), algorithm=hash_cls(), label=None)
        if private_op:
            try:
                result = item.private.decrypt(value, pad)
            except ValueError:
                raise _Error(400, "BadParameter", "Error occurred while decrypting the ciphertext.") from None
        else:
            result = item.private.public_key().encrypt(value, pad)
        return {"kid": self._kid(name, item.version), "value": b64url(result)}


class FakeCredential:
    """Stands in for ``DefaultAzureCredential``: azure-core's ``TokenCredential.get_token``.

    Class attributes so a test can patch the class the code under test instantiates: ``token``
    is returned, ``error`` (when set) is raised instead, ``calls`` records (scopes, tenant_id).
    """

    token: str = ""
    error: Exception | None = None
    calls: list[tuple[tuple[str, ...], str | None]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        type(self).calls.append((scopes, tenant_id))
        if type(self).error is not None:
            raise type(self).error
        return AccessToken(type(self).token, int(time.time()) + 3600)

    def close(self) -> None:
        return


class _Handler(QuietHandler):
    vault: FakeKeyVault

    def _serve(self) -> None:
        parts, body = self.read_request()
        with self.vault._lock:
            self.vault._in_flight += 1
            self.vault.max_in_flight = max(self.vault.max_in_flight, self.vault._in_flight)
        try:
            status, headers, payload, record = self.vault.handle(
                self.command, parts.path, parse_qs(parts.query), self.headers, body)
            time.sleep(self.vault.latency)
        finally:
            with self.vault._lock:
                self.vault._in_flight -= 1
        if self.vault.capture_bodies:
            record.request_json = json.loads(body) if body else None
            record.response_json = payload
        with self.vault._lock:
            self.vault.requests.append(record)
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_body(status, [*headers.items(), ("Content-Type", "application/json; charset=utf-8"),
                                ("x-ms-keyvault-service-version", "1.9.0.0")], data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Connect(QuietHandler):
    """A CONNECT-only proxy that tunnels every host to the fake vault's port."""

    target: int

    def do_CONNECT(self) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()
            self.close_connection = True


def operations_of(records: Iterable[RequestRecord]) -> list[tuple[str, str | None, int]]:
    """(method, operation, status) of each record: compact for assertions."""
    return [(r.method, r.operation, r.status) for r in records]
