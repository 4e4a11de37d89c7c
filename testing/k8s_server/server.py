"""The HTTP server: dispatch, authentication, routing and the test-facing state helpers."""

from __future__ import annotations

import base64
import copy
import json
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from testing.certs import TlsFiles
from testing.k8s_server.discovery import (
    _api_group_list,
    _api_resource_list,
    _authorization_resource_list,
    _group_resource_list,
    _openapi_v3_core,
    _selector_matches,
    _table,
)
from testing.k8s_server.errors import ApiError, _bad_request, _forbidden
from testing.k8s_server.faults import FaultAction, FaultPlan, RequestRecord
from testing.k8s_server.kinds import (
    _KINDS,
    _KUSTOMIZATIONS,
    _NAMESPACES,
    _SECRETS,
    FLUX_KUSTOMIZE_GROUP,
    JSON,
    SERVER_VERSION,
    _Kind,
)
from testing.k8s_server.kubeconfig import write_kubeconfig
from testing.k8s_server.patches import json_patch, merge_patch, strategic_merge_patch
from testing.k8s_server.protobuf import PROTOBUF, decode_access_review
from testing.k8s_server.rbac import ADMIN, READ_ONLY, User
from testing.k8s_server.requests import (
    _default_manager,
    _json_body,
    _object_body,
    _Request,
    _request_info,
    _wants_table,
)
from testing.k8s_server.store import _apply, _Store


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log; the fake keeps its own body-free log."""

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        record, action = owner._begin(self.command, split.path, query, self.headers)
        if action == "drop":
            owner._finish(record, 0)  # logged with status 0: no answer was sent
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if action is not None:
            error = ApiError(
                int(action),
                "ServiceUnavailable" if action == "503" else "InternalError",
                "fault injected by the test server",
            )
            status, payload, headers = error.code, error.status(), dict[str, str](error.headers)
        else:
            request = _Request(self.command, split.path, query, self.headers, body, owner._authenticate(self.headers))
            status, payload, answer_headers = owner._handle(request, record)
            headers = dict(answer_headers)
        owner._finish(record, status)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FakeKubeServer


class FakeKubeServer:
    """The fake API server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    ``tokens`` maps bearer tokens to users; by default ``admin-token`` (all rights),
    ``read-only-token`` (get/list/watch) and ``no-rights-token`` (authenticated, no rights).
    """

    def __init__(
        self,
        *,
        tls: TlsFiles | None = None,
        tokens: Mapping[str, User] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.tls = tls
        self.tokens: dict[str, User] = (
            dict(tokens)
            if tokens is not None
            else {
                "admin-token": User("admin", ADMIN),
                "read-only-token": User("reader", READ_ONLY),
                "no-rights-token": User("nobody"),
            }
        )
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self._host, self._port = host, port
        self._store = _Store()
        self._log_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def __enter__(self) -> FakeKubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeKubeServer:
        """Listen (on the same port as before after a :meth:`stop`, so kubeconfigs stay valid)."""
        httpd = _HttpServer((self._host, self._port), _Handler)
        httpd.owner = self
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.server_cert, self.tls.server_key)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-kube-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections; state is kept for a later :meth:`start`."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self._drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def kill(self) -> None:
        """Like a crashed API server: every open connection is cut, nothing more is answered."""
        self._drop_connections()
        self.stop()

    restart = start

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self._host}:{self._port}"

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _drop_connections(self) -> None:
        with self._conn_lock:
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- state helpers for tests

    def reset(self) -> None:
        """Forget every object, the log and the faults (resourceVersions keep counting up)."""
        revision = self._store.revision
        with self._store.lock:
            self._store = _Store()
            self._store.revision = max(self._store.revision, revision)
        self.faults.clear()
        self.clear_log()

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def existing(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """The stored object; AssertionError when it is absent (tests that expect it to be there)."""
        obj = self.object(resource, namespace, name)
        assert obj is not None, f"{resource} {namespace}/{name} is not stored"
        return obj

    def object(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object as the API would return it, or None."""
        with self._store.lock:
            stored = self._store.objects.get((resource, namespace, name))
            return stored.render() if stored else None

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        obj = self.object("secrets", namespace, name)
        if obj is None:
            return None
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}

    def add_namespace(self, name: str) -> None:
        with self._store.lock:
            if ("namespaces", None, name) not in self._store.objects:
                self._store.create(_NAMESPACES, None, {"metadata": {"name": name}}, manager="test", dry_run=False)

    def add_secret(
        self, namespace: str, name: str, data: Mapping[str, bytes], *, labels: Mapping[str, str] | None = None
    ) -> None:
        """Seed a Secret directly (no request, no log entry); creates the namespace if needed."""
        self.add_namespace(namespace)
        obj: dict[str, Any] = {
            "metadata": {"name": name, **({"labels": dict(labels)} if labels else {})},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        }
        with self._store.lock:
            self._store.create(_SECRETS, namespace, obj, manager="test", dry_run=False)

    def add_kustomization(
        self,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        *,
        status: Mapping[str, Any] | None = None,
    ) -> None:
        """Seed a Flux ``Kustomization`` (no request, no log entry); creates the namespace if needed."""
        self.add_namespace(namespace)
        obj: dict[str, Any] = {"metadata": {"name": name}, "spec": copy.deepcopy(dict(spec))}
        with self._store.lock:
            self._store.create(_KUSTOMIZATIONS, namespace, obj, manager="test", dry_run=False)
        if status is not None:
            self.set_kustomization_status(namespace, name, status)

    def set_kustomization_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Play kustomize-controller: replace the ``status`` (a new resourceVersion, like a real write)."""
        with self._store.lock:
            stored = self._store.get(_KUSTOMIZATIONS, namespace, name)
            stored.obj["status"] = copy.deepcopy(dict(status))
            stored.obj["metadata"]["resourceVersion"] = self._store.next_revision()

    def add_token(self, token: str, user: User) -> None:
        self.tokens[token] = user

    def write_kubeconfig(
        self, path: Path, *, token: str | None, namespace: str | None = None, context: str = "fake"
    ) -> Path:
        return write_kubeconfig(
            path,
            self.url,
            token=token,
            ca_pem=self.tls.ca_pem if self.tls else None,
            namespace=namespace,
            context=context,
        )

    # ---- request processing

    def _authenticate(self, headers: Message) -> User | None:
        """None means: a token was sent but is not known (401)."""
        auth = headers.get("Authorization")
        if not auth:
            return User("system:anonymous")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = self.tokens.get(token.strip())
        wanted = headers.get("Impersonate-User")
        if user is None or not wanted:
            return user
        # Impersonation (``kubectl --as``): the caller needs ``impersonate`` on ``users`` (or on
        # ``serviceaccounts`` in the account's namespace); a refused one is answered by _handle.
        sa = wanted.split(":")
        allowed = user.can("impersonate", "users", None, wanted) or (
            len(sa) == 4
            and sa[:2] == ["system", "serviceaccount"]
            and user.can("impersonate", "serviceaccounts", sa[2], sa[3])
        )
        if not allowed:
            return User(f"{user.name}\0cannot-impersonate\0{wanted}")
        known = next((u for u in self.tokens.values() if u.name == wanted), None)
        return known if known is not None else User(wanted)

    def _begin(
        self, method: str, path: str, query: Mapping[str, str], headers: Message
    ) -> tuple[RequestRecord, FaultAction | None]:
        user = self._authenticate(headers)
        verb, resource, ns, name = _request_info(method, path, query)
        record = RequestRecord(
            method,
            path,
            dict(query),
            headers.get("Content-Type"),
            headers.get("Accept"),
            user.name if user else None,
            verb,
            resource,
            ns,
            name,
        )
        return record, self.faults.decide(record)

    def _finish(self, record: RequestRecord, status: int) -> None:
        with self._log_lock:
            self.requests.append(RequestRecord(**{**record.__dict__, "status": status}))

    def _handle(self, request: _Request, record: RequestRecord) -> tuple[int, Any, Mapping[str, str]]:
        try:
            if request.user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if "\0cannot-impersonate\0" in request.user.name:
                caller, _, wanted = request.user.name.split("\0")
                raise ApiError(
                    403,
                    "Forbidden",
                    f'users "{wanted}" is forbidden: User "{caller}" cannot impersonate resource "users" '
                    'in API group "" at the cluster scope',
                    details={"name": wanted, "kind": "users"},
                )
            return self._route(request, record)
        except ApiError as error:
            return error.code, error.status(), error.headers

    def _route(self, request: _Request, record: RequestRecord) -> tuple[int, Any, Mapping[str, str]]:
        user = request.user
        assert user is not None
        path = request.path.rstrip("/") or "/"
        if record.resource is None:
            return self._non_resource(user, path)
        if record.resource == "selfsubjectaccessreviews":
            return self._access_review(request, user, record)
        kind = _KINDS[record.resource]
        verb, ns, name = record.verb or "", record.namespace, record.name
        if not user.can(verb, kind.resource, ns, name):
            raise _forbidden(user.name, verb, kind.resource, ns, name)
        with self._store.lock:
            return self._resource(request, user, kind, verb, ns, name)

    def _access_review(
        self, request: _Request, user: User, record: RequestRecord
    ) -> tuple[int, Any, Mapping[str, str]]:
        """``SelfSubjectAccessReview``: what ``kubectl auth can-i`` asks. Every authenticated user
        may ask about itself (``system:basic-user``); the answer is the fake's own RBAC decision."""
        if record.verb != "create":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if user.name == "system:anonymous":
            raise _forbidden(user.name, "create", "selfsubjectaccessreviews", None, None)
        content_type = (request.headers.get("Content-Type") or JSON).split(";")[0].strip()
        review = decode_access_review(request.body) if content_type == PROTOBUF else _json_body(request.body)
        if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
            raise _bad_request("SelfSubjectAccessReview must have a spec")
        attrs = review["spec"].get("resourceAttributes")
        if not isinstance(attrs, dict):
            allowed, reason = False, "only resourceAttributes are answered by the fake server"
        else:
            allowed = user.can(
                str(attrs.get("verb") or ""),
                str(attrs.get("resource") or ""),
                attrs.get("namespace") or None,
                attrs.get("name") or None,
            )
            reason = "allowed by the fake server's rules" if allowed else ""
        answer = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": review["spec"],
            "status": {"allowed": allowed, **({"reason": reason} if reason else {})},
        }
        return 201, answer, {}

    def _non_resource(self, user: User, path: str) -> tuple[int, Any, Mapping[str, str]]:
        if path in ("/version", "/healthz", "/livez", "/readyz"):
            return 200, SERVER_VERSION if path == "/version" else "ok", {}
        if user.name == "system:anonymous":
            raise ApiError(403, "Forbidden", f'forbidden: User "system:anonymous" cannot get path "{path}"', details={})
        documents: dict[str, Any] = {
            "/api": {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self._host}:{self._port}"}
                ],
            },
            "/api/v1": _api_resource_list(),
            "/apis": _api_group_list(),
            f"/apis/{FLUX_KUSTOMIZE_GROUP}/v1": _group_resource_list(_KUSTOMIZATIONS),
            "/apis/authorization.k8s.io/v1": _authorization_resource_list(),
            "/openapi/v3": {
                "paths": {
                    "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=SOPSKITFAKE1"},
                    f"apis/{FLUX_KUSTOMIZE_GROUP}/v1": {
                        "serverRelativeURL": f"/openapi/v3/apis/{FLUX_KUSTOMIZE_GROUP}/v1?hash=SOPSKITFAKE1"
                    },
                }
            },
            "/openapi/v3/api/v1": _openapi_v3_core(),
            f"/openapi/v3/apis/{FLUX_KUSTOMIZE_GROUP}/v1": _openapi_v3_core(FLUX_KUSTOMIZE_GROUP),
        }
        if path in documents:
            return 200, documents[path], {}
        raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})

    def _resource(
        self, request: _Request, user: User, kind: _Kind, verb: str, ns: str | None, name: str | None
    ) -> tuple[int, Any, Mapping[str, str]]:
        store, query = self._store, request.query
        dry_run = query.get("dryRun") == "All"
        manager = query.get("fieldManager") or _default_manager(request.headers.get("User-Agent"))
        if verb in ("list", "watch"):
            objects = [s.render() for s in store.list(kind, ns)]
            if name is not None:
                objects = [o for o in objects if o["metadata"]["name"] == name]
            if query.get("labelSelector"):
                objects = [
                    o for o in objects if _selector_matches(query["labelSelector"], o["metadata"].get("labels") or {})
                ]
            if verb == "watch":
                return (
                    200,
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": kind.kind,
                            "apiVersion": kind.api_version,
                            "metadata": {"resourceVersion": str(store.revision)},
                        },
                    },
                    {},
                )
            if _wants_table(request.headers.get("Accept")):
                return 200, _table(kind, objects, str(store.revision), query.get("includeObject", "")), {}
            return (
                200,
                {
                    "kind": f"{kind.kind}List",
                    "apiVersion": kind.api_version,
                    "metadata": {"resourceVersion": str(store.revision)},
                    "items": objects,
                },
                {},
            )
        if verb == "get":
            assert name is not None
            obj = store.get(kind, ns, name).render()
            if _wants_table(request.headers.get("Accept")):
                return 200, _table(kind, [obj], str(store.revision), query.get("includeObject", "")), {}
            return 200, obj, {}
        if verb == "delete":
            assert name is not None
            options = _json_body(request.body) if request.body else {}
            precondition = (options.get("preconditions") or {}).get("resourceVersion")
            gone = store.delete(kind, ns, name, precondition_rv=precondition, dry_run=dry_run)
            if kind is _NAMESPACES:
                obj = gone.render()
                obj["status"] = {"phase": "Terminating"}
                return 200, obj, {}
            return (
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "kind": kind.resource, "uid": gone.obj["metadata"]["uid"]},
                },
                {},
            )
        warnings: list[str] = []
        if verb == "patch":
            assert name is not None
            return self._patch(request, user, kind, ns, name, manager, dry_run)
        obj = _object_body(request, kind, warnings, query.get("fieldValidation"))
        headers = {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)} if warnings else {}
        if verb == "create":
            body_ns = (obj.get("metadata") or {}).get("namespace")
            if kind.namespaced and body_ns and body_ns != ns:
                raise _bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            return 201, store.create(kind, ns, obj, manager=manager, dry_run=dry_run).render(), headers
        assert name is not None  # update
        return 200, store.update(kind, ns, name, obj, manager=manager, dry_run=dry_run).render(), headers

    def _patch(
        self,
        request: _Request,
        user: User,
        kind: _Kind,
        ns: str | None,
        name: str,
        manager: str,
        dry_run: bool,
    ) -> tuple[int, Any, Mapping[str, str]]:
        store = self._store
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            if not request.query.get("fieldManager"):
                raise _bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
            try:
                config = yaml.safe_load(request.body.decode())
            except (yaml.YAMLError, UnicodeDecodeError):
                raise _bad_request("error decoding YAML: the body is not valid YAML or JSON")
            if not isinstance(config, dict):
                raise _bad_request("apply configuration must be an object")
            if (kind.resource, ns, name) not in store.objects and not user.can("create", kind.resource, ns, name):
                raise _forbidden(user.name, "create", kind.resource, ns, name)
            stored, created = _apply(
                store,
                kind,
                ns,
                name,
                config,
                manager=request.query["fieldManager"],
                force=request.query.get("force") == "true",
                dry_run=dry_run,
            )
            return (201 if created else 200), stored.render(), {}
        patchers: dict[str, Callable[[Any, Any], Any]] = {
            "application/json-patch+json": json_patch,
            "application/merge-patch+json": merge_patch,
            "application/strategic-merge-patch+json": strategic_merge_patch,
        }
        if content_type not in patchers:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - "
                f"accepted media types include: {', '.join(patchers)}, application/apply-patch+yaml",
            )
        current = store.get(kind, ns, name)
        base = current.render()
        base["metadata"].pop("managedFields", None)
        patched = patchers[content_type](base, _json_body(request.body))
        if not isinstance(patched, dict):
            raise _bad_request("the patch did not produce an object")
        meta = patched.setdefault("metadata", {})
        if meta.get("resourceVersion") is None:
            meta["resourceVersion"] = base["metadata"]["resourceVersion"]
        return 200, store.update(kind, ns, name, patched, manager=manager, dry_run=dry_run).render(), {}
