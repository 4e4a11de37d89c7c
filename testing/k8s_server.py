"""An in-process fake Kubernetes API server for namespaces and Secrets (test infrastructure).

No real API server can run on the test machines, so this module speaks enough of the real REST
API that the real ``kubectl`` and the official ``kubernetes`` Python client both work against it,
and the test suite proves that by driving it with ``kubectl`` (``tests/k8s/test_server_kubectl.py``).

What it implements, and why each part is there:

* **Discovery** (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/openapi/v3``): kubectl asks
  before most commands. Only JSON is advertised, so kubectl never sends protobuf; ``/openapi/v2``
  answers 404, like a server that stopped serving it, and kubectl 1.32 copes because
  ``/openapi/v3`` says the PATCH endpoints accept ``fieldValidation``.
* **Authentication and authorisation**: bearer tokens map to :class:`User` objects holding
  RBAC-like :class:`Rule` lists (verb, resource, resourceName, namespace), so the minimal Role of
  the cluster-key workflow can be tested. Unknown tokens get a 401 ``Unauthorized`` Status;
  requests without a token run as ``system:anonymous`` (403 on everything but ``/version``).
  403 messages follow the real server's wording.
* **Namespaces and Secrets**: list/get/create/update/patch/delete, a global ``resourceVersion``
  counter, 409 on a stale ``resourceVersion`` and on ``AlreadyExists``, 404, ``stringData``
  merged into base64 ``data``, ``data`` validated as base64, ``uid``/``creationTimestamp``,
  ``managedFields``, ``fieldValidation``, ``dryRun=All``, and no-op updates that keep the
  ``resourceVersion`` (as the real server does).
* **Patches**: JSON patch, merge patch, strategic merge patch (maps only: Secrets and Namespaces
  have no merge-keyed lists sopskit cares about) and server-side apply with field managers and
  conflicts. Client-side ``kubectl apply`` works too, and stores its
  ``last-applied-configuration`` annotation, which is exactly why sopskit never uses it.
* **Observation and faults**: :attr:`FakeKubeServer.requests` logs method, path, query, content
  type, user and status, never a body. :attr:`FakeKubeServer.faults` fails or drops requests after
  N more, or when a predicate matches; :meth:`FakeKubeServer.kill` drops every open connection.

Not implemented: watch streams (a watch answers with an empty stream that ends at once),
label selectors beyond ``k=v``/``k!=v``/``k``, other resources, protobuf, CBOR, aggregated discovery.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as _dt
import json
import re
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from testing.certs import TlsFiles

__all__ = [
    "ADMIN",
    "READ_ONLY",
    "FakeKubeServer",
    "FaultPlan",
    "RequestRecord",
    "Rule",
    "User",
    "minimal_role_rules",
    "write_kubeconfig",
]

JSON = "application/json"
SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sopskit-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_MAX_SECRET_BYTES = 1024 * 1024
_INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


# --------------------------------------------------------------------------- users and RBAC


@dataclass(frozen=True)
class Rule:
    """One RBAC-like rule. Empty ``resource_names`` means every name; ``namespace`` None means
    every namespace and the cluster scope (like a ClusterRole), a string means that namespace only."""

    verbs: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str] = frozenset()
    namespace: str | None = None

    @classmethod
    def of(
        cls,
        verbs: Iterable[str],
        resources: Iterable[str],
        *,
        names: Iterable[str] = (),
        namespace: str | None = None,
    ) -> Rule:
        return cls(frozenset(verbs), frozenset(resources), frozenset(names), namespace)

    def allows(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        if not ({"*", verb} & self.verbs and {"*", resource} & self.resources):
            return False
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.resource_names:
            # Like RBAC: a rule naming objects can never allow a request without a name
            # (create, or list without a metadata.name field selector).
            return name is not None and name in self.resource_names
        return True


@dataclass(frozen=True)
class User:
    name: str
    rules: tuple[Rule, ...] = ()

    def can(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return any(rule.allows(verb, resource, namespace, name) for rule in self.rules)


ADMIN = (Rule.of(["*"], ["*"]),)
READ_ONLY = (Rule.of(["get", "list", "watch"], ["*"]),)


def minimal_role_rules(
    namespace: str = "flux-system",
    name: str = "sops-age",
    *,
    with_patch: bool = False,
    with_namespace: bool = False,
) -> tuple[Rule, ...]:
    """The Role the cluster-key workflow documents: ``create`` on secrets, ``get/update/delete``
    on the one named Secret (``patch`` too when asked), namespace access only when asked."""
    verbs = ["get", "update", "delete", *(["patch"] if with_patch else [])]
    rules = [
        Rule.of(["create"], ["secrets"], namespace=namespace),
        Rule.of(verbs, ["secrets"], names=[name], namespace=namespace),
    ]
    if with_namespace:
        rules.append(Rule.of(["get", "create"], ["namespaces"]))
    return tuple(rules)


# --------------------------------------------------------------------------- log and faults


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw, minus any body: bodies may carry Secret data."""

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str | None
    accept: str | None
    user: str | None
    verb: str | None
    resource: str | None
    namespace: str | None
    name: str | None
    status: int = 0


FaultAction = str  # "drop" or an HTTP status as text, e.g. "503"


class FaultPlan:
    """Fault injection for resume tests: fail or drop requests once a countdown runs out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._countdown: int | None = None
        self._action: FaultAction = "503"
        self._predicates: list[tuple[Callable[[RequestRecord], bool], FaultAction]] = []
        self.triggered = 0

    def fail_after(self, n: int, *, status: int = 503) -> None:
        """Serve ``n`` more requests normally, then answer every request with ``status``."""
        with self._lock:
            self._countdown, self._action = n, str(status)

    def drop_after(self, n: int) -> None:
        """Serve ``n`` more requests, then close every connection without an answer."""
        with self._lock:
            self._countdown, self._action = n, "drop"

    def fail_when(
        self, predicate: Callable[[RequestRecord], bool], *, status: int | None = 503, drop: bool = False
    ) -> None:
        """Fail (or drop, with ``drop=True``) every request the predicate matches."""
        with self._lock:
            self._predicates.append((predicate, "drop" if drop else str(status)))

    def clear(self) -> None:
        with self._lock:
            self._countdown, self._predicates, self.triggered = None, [], 0

    def decide(self, record: RequestRecord) -> FaultAction | None:
        with self._lock:
            for predicate, action in self._predicates:
                if predicate(record):
                    self.triggered += 1
                    return action
            if self._countdown is None:
                return None
            if self._countdown > 0:
                self._countdown -= 1
                return None
            self.triggered += 1
            return self._action


# --------------------------------------------------------------------------- API errors


class ApiError(Exception):
    """An error the server answers as a ``Status`` object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = dict(headers or {})

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _not_found(resource: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{resource} "{name}" not found', details={"name": name, "kind": resource}
    )


def _invalid(kind: str, name: str, resource: str, causes: list[tuple[str, str]]) -> ApiError:
    text = ", ".join(f"{fld}: {msg}" for fld, msg in causes)
    message = f'{kind} "{name}" is invalid: ' + (f"[{text}]" if len(causes) > 1 else text)
    return ApiError(
        422,
        "Invalid",
        message,
        details={
            "name": name,
            "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": fld} for fld, msg in causes],
        },
    )


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


# --------------------------------------------------------------------------- patch algorithms


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge patch for map-only types: merge patch plus the ``$patch``, ``$retainKeys``
    and ``$setElementOrder``/``$deleteFromPrimitiveList`` directives (lists are replaced)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if not k.startswith("$")}
    if directive == "replace":
        return copy.deepcopy(body)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            fld = key.split("/", 1)[1]
            result[fld] = [item for item in result.get(fld, []) if item not in value]
    for key, value in body.items():
        if value is None:
            result.pop(key, None)
            continue
        merged = strategic_merge_patch(result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _bad_request(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise _bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)

    def parent(parts: list[str]) -> tuple[Any, str]:
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def get(parts: list[str]) -> Any:
        node = doc
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def remove(parts: list[str]) -> Any:
        node, last = parent(parts)
        return node.pop(int(last)) if isinstance(node, list) else node.pop(last)

    def add(parts: list[str], value: Any) -> None:
        nonlocal doc
        if not parts:
            doc = value
            return
        node, last = parent(parts)
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), value)
        else:
            node[last] = value

    try:
        for op in operations:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                get(parts)  # must exist
                remove(parts) if parts else None
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "move":
                add(parts, remove(_pointer(op["from"])))
            elif kind == "copy":
                add(parts, copy.deepcopy(get(_pointer(op["from"]))))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise _bad_request(
                        f"the server rejected our request due to an error in our request: "
                        f"testing value {op['path']} failed"
                    )
            else:
                raise _bad_request(f"Unexpected kind: {kind}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        if isinstance(exc, ApiError):
            raise
        raise ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        )
    return doc


# --------------------------------------------------------------------------- field ownership

Path_ = tuple[str, ...]
_MISSING = object()
_SERVER_FIELDS = {
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
}


def _leaf_paths(obj: Mapping[str, Any], prefix: Path_ = ()) -> dict[Path_, Any]:
    """Fields an object sets, as paths to leaves (maps are walked, anything else is a leaf)."""
    out: dict[Path_, Any] = {}
    for key, value in obj.items():
        path = (*prefix, key)
        if not prefix and key in ("apiVersion", "kind", "status"):
            continue
        if prefix == ("metadata",) and key in ({"name", "namespace"} | _SERVER_FIELDS):
            continue
        if isinstance(value, dict) and value:
            out.update(_leaf_paths(value, path))
        else:
            out[path] = value
    return out


def _fields_v1(paths: Iterable[Path_]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for depth, part in enumerate(path):
            node = node.setdefault(f"f:{part}", {})
            if depth < len(path) - 1 and path[: depth + 1] != ("metadata",):
                node.setdefault(".", {})
    return tree


def _get_path(obj: Mapping[str, Any], path: Path_) -> tuple[bool, Any]:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _del_path(obj: dict[str, Any], path: Path_) -> None:
    node: Any = obj
    for part in path[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(path[-1], None)


@dataclass
class _Manager:
    operation: str
    time: str
    paths: set[Path_] = field(default_factory=set)


@dataclass
class _Stored:
    obj: dict[str, Any]
    managers: dict[str, _Manager] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        out = copy.deepcopy(self.obj)
        if self.managers:
            out["metadata"]["managedFields"] = [
                {
                    "manager": name,
                    "operation": m.operation,
                    "apiVersion": "v1",
                    "time": m.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": _fields_v1(m.paths),
                }
                for name, m in self.managers.items()
                if m.paths
            ]
        return out


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class _Kind:
    resource: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]
    known_fields: frozenset[str]


_SECRETS = _Kind(
    "secrets",
    "Secret",
    True,
    (),
    frozenset({"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}),
)
_NAMESPACES = _Kind(
    "namespaces", "Namespace", False, ("ns",), frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
)
_KINDS = {k.resource: k for k in (_SECRETS, _NAMESPACES)}
_METADATA_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "finalizers",
        "ownerReferences",
        "generation",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64_error(value: Any) -> str | None:
    """Go's encoding/json rejects []byte fields that are not strict standard base64."""
    if not isinstance(value, str):
        return "json: cannot unmarshal into Go value of type []uint8"
    for index, char in enumerate(value):
        if not (char.isascii() and (char.isalnum() or char in "+/=")):
            return f"illegal base64 data at input byte {index}"
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        return f"illegal base64 data at input byte {len(value) - (len(value) % 4 or 4)}"
    return None


# --------------------------------------------------------------------------- the object store


class _Store:
    """Namespaces and Secrets behind one lock, with one resourceVersion counter (like etcd)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.revision = 0
        self.objects: dict[tuple[str, str | None, str], _Stored] = {}
        for ns in _INITIAL_NAMESPACES:
            self._insert(_NAMESPACES, None, {"metadata": {"name": ns}})

    def next_revision(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _insert(self, kind: _Kind, ns: str | None, obj: dict[str, Any]) -> _Stored:
        obj = self._normalize(kind, ns, obj, existing=None)
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["resourceVersion"] = self.next_revision()
        stored = _Stored(obj)
        self.objects[(kind.resource, ns, meta["name"])] = stored
        return stored

    # ---- validation and defaults

    def _normalize(
        self, kind: _Kind, ns: str | None, obj: dict[str, Any], existing: _Stored | None
    ) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = "v1", kind.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _bad_request("metadata must be an object")
        meta.pop("managedFields", None)
        name = meta.get("name", "")
        if kind.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        for key in ("labels", "annotations"):
            if meta.get(key) == {}:
                del meta[key]
        if kind is _SECRETS:
            self._normalize_secret(obj, name, existing)
        else:
            if not _DNS1123_LABEL.match(name or "x"):
                raise _invalid(
                    "Namespace",
                    name,
                    "namespaces",
                    [
                        (
                            "metadata.name",
                            f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of '
                            "lower case alphanumeric characters or '-', and must start and end with an "
                            "alphanumeric character",
                        )
                    ],
                )
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        return obj

    def _normalize_secret(self, obj: dict[str, Any], name: str, existing: _Stored | None) -> None:
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise _bad_request(
                'Secret in version "v1" cannot be handled as a Secret: '
                "json: cannot unmarshal into Go struct field Secret.data"
            )
        causes: list[tuple[str, str]] = []
        for value in data.values():
            error = _b64_error(value)
            if error is not None:
                raise _bad_request(f'Secret in version "v1" cannot be handled as a Secret: {error}')
        for key, value in (obj.pop("stringData", None) or {}).items():
            if not isinstance(value, str):
                raise _bad_request(
                    'Secret in version "v1" cannot be handled as a Secret: '
                    "json: cannot unmarshal into Go struct field Secret.stringData of type string"
                )
            data[key] = base64.b64encode(value.encode()).decode()
        for key in data:
            if not _CONFIG_KEY.match(key):
                causes.append(
                    (
                        f"data[{key}]",
                        f'Invalid value: "{key}": a valid config key must consist of '
                        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
                        "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                    )
                )
        if sum(len(base64.b64decode(v)) for v in data.values()) > _MAX_SECRET_BYTES:
            causes.append(("data", f"Too long: must have at most {_MAX_SECRET_BYTES} bytes"))
        if data:
            obj["data"] = data
        else:
            obj.pop("data", None)
        obj.setdefault("type", "Opaque")
        if not name or not _DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            causes.insert(
                0,
                (
                    "metadata.name",
                    "Required value: name or generateName is required"
                    if not name
                    else f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                    "lower case alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character",
                ),
            )
        if existing is not None:
            old = existing.obj
            if obj["type"] != old.get("type"):
                causes.append(("type", "Invalid value: field is immutable"))
            if old.get("immutable") and (obj.get("data") != old.get("data") or not obj.get("immutable")):
                causes.append(("data", "Forbidden: field is immutable when `immutable` is set"))
        if causes:
            raise _invalid("Secret", name, "secrets", causes)

    # ---- operations

    def get(self, kind: _Kind, ns: str | None, name: str) -> _Stored:
        stored = self.objects.get((kind.resource, ns, name))
        if stored is None:
            raise _not_found(kind.resource, name)
        return stored

    def require_namespace(self, ns: str | None) -> None:
        if ns is not None and (_NAMESPACES.resource, None, ns) not in self.objects:
            raise _not_found("namespaces", ns)

    def list(self, kind: _Kind, ns: str | None) -> list[_Stored]:
        return [
            s
            for (res, s_ns, _), s in sorted(self.objects.items(), key=lambda kv: (kv[0][1] or "", kv[0][2]))
            if res == kind.resource and (ns is None or s_ns == ns)
        ]

    def create(
        self,
        kind: _Kind,
        ns: str | None,
        obj: dict[str, Any],
        *,
        manager: str,
        dry_run: bool,
        operation: str = "Update",
        owned: set[Path_] | None = None,
    ) -> _Stored:
        self.require_namespace(ns)
        meta = obj.get("metadata") or {}
        if meta.get("resourceVersion"):
            raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
        name = meta.get("name") or ""
        if (kind.resource, ns, name) in self.objects:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{kind.resource} "{name}" already exists',
                details={"name": name, "kind": kind.resource},
            )
        if dry_run:
            return _Stored(self._normalize(kind, ns, obj, None))
        stored = self._insert(kind, ns, obj)
        paths = set(_leaf_paths(_fold_string_data(obj))) if owned is None else owned
        stored.managers[manager] = _Manager(operation, _now(), paths & set(_leaf_paths(stored.obj)))
        return stored

    def update(
        self,
        kind: _Kind,
        ns: str | None,
        name: str,
        obj: dict[str, Any],
        *,
        manager: str,
        managers: dict[str, _Manager] | None = None,
        dry_run: bool = False,
    ) -> _Stored:
        """Replace an object: optimistic concurrency on ``metadata.resourceVersion`` when the body
        carries one; the writer takes over the fields it changed (unless ``managers`` says who owns
        what, as server-side apply does); nothing changed means no new resourceVersion."""
        current = self.get(kind, ns, name)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise _bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != current.obj["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.resource} "{name}": the '
                "object has been modified; please apply your changes to the latest version and try "
                "again",
                details={"name": name, "kind": kind.resource},
            )
        new = self._normalize(kind, ns, obj, current)
        for key in ("uid", "creationTimestamp", "resourceVersion"):
            new["metadata"][key] = current.obj["metadata"][key]
        old_leaves, new_leaves = _leaf_paths(current.obj), _leaf_paths(new)
        if managers is None:
            changed = {p for p, v in new_leaves.items() if old_leaves.get(p, _MISSING) != v}
            managers = copy.deepcopy(current.managers)
            for entry in managers.values():
                entry.paths -= changed
            if changed:
                managers.setdefault(manager, _Manager("Update", _now())).paths |= changed
                managers[manager].time = _now()
        for entry in managers.values():
            entry.paths &= set(new_leaves)
        managers = {k: v for k, v in managers.items() if v.paths}
        if new == current.obj and _same_owners(managers, current.managers):
            return current
        stored = _Stored(new, managers)
        if dry_run:
            return stored
        new["metadata"]["resourceVersion"] = self.next_revision()
        self.objects[(kind.resource, ns, name)] = stored
        return stored

    def delete(
        self, kind: _Kind, ns: str | None, name: str, *, precondition_rv: str | None, dry_run: bool
    ) -> _Stored:
        current = self.get(kind, ns, name)
        rv = current.obj["metadata"]["resourceVersion"]
        if precondition_rv and precondition_rv != rv:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.resource} "{name}": '
                f"Precondition failed: ResourceVersion in precondition: {precondition_rv}, "
                f"ResourceVersion in object meta: {rv}",
                details={"name": name, "kind": kind.resource},
            )
        if not dry_run:
            del self.objects[(kind.resource, ns, name)]
            self.next_revision()
            if kind is _NAMESPACES:
                for key in [k for k in self.objects if k[1] == name]:
                    del self.objects[key]
        return current


def _apply(
    store: _Store,
    kind: _Kind,
    ns: str | None,
    name: str,
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    dry_run: bool,
) -> tuple[_Stored, bool]:
    """Server-side apply: the manager owns exactly the fields in ``config``; fields it owned before
    and nobody else owns are removed when it stops setting them; changing a value another manager
    owns is a conflict unless ``force``, which moves the ownership."""
    config = _fold_string_data(config)
    meta = config.setdefault("metadata", {})
    if meta.get("name", name) != name:
        raise _bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
        )
    meta["name"] = name
    wanted = _leaf_paths(config)
    existing = store.objects.get((kind.resource, ns, name))
    if existing is None:
        stored = store.create(
            kind, ns, config, manager=manager, dry_run=dry_run, operation="Apply", owned=set(wanted)
        )
        return stored, True
    current_leaves = _leaf_paths(existing.obj)
    differing = {p for p, v in wanted.items() if current_leaves.get(p, _MISSING) != v}
    conflicts = [
        (other, path)
        for other, entry in existing.managers.items()
        if other != manager
        for path in sorted(entry.paths & differing)
    ]
    if conflicts and not force:
        text = "\n".join(f'conflict with "{who}": .{".".join(path)}' for who, path in conflicts)
        summary = f"{len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}"
        raise ApiError(
            409,
            "Conflict",
            f"Apply failed with {summary}: {text}",
            details={
                "causes": [
                    {
                        "reason": "FieldManagerConflict",
                        "message": f'conflict with "{who}"',
                        "field": "." + ".".join(path),
                    }
                    for who, path in conflicts
                ]
            },
        )
    managers = copy.deepcopy(existing.managers)
    previously = managers[manager].paths if manager in managers else set()
    others_own: set[Path_] = set()
    for other, entry in managers.items():
        if other != manager:
            entry.paths -= differing
            others_own |= entry.paths
    merged = copy.deepcopy(existing.obj)
    for path in previously - set(wanted) - others_own:
        _del_path(merged, path)
    for path, value in wanted.items():
        node = merged
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = copy.deepcopy(value)
    managers[manager] = _Manager("Apply", _now(), set(wanted))
    merged["metadata"]["resourceVersion"] = existing.obj["metadata"]["resourceVersion"]
    return store.update(kind, ns, name, merged, manager=manager, managers=managers, dry_run=dry_run), False


def _fold_string_data(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy with write-only ``stringData`` folded into base64 ``data`` (what the server stores)."""
    obj = copy.deepcopy(obj)
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()
        obj["data"] = data
    return obj


def _same_owners(a: Mapping[str, _Manager], b: Mapping[str, _Manager]) -> bool:
    return {k: (v.operation, v.paths) for k, v in a.items()} == {
        k: (v.operation, v.paths) for k, v in b.items()
    }


# --------------------------------------------------------------------------- discovery and tables


def _api_resource_list() -> dict[str, Any]:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": verbs,
                "shortNames": ["ns"],
            },
            {
                "name": "secrets",
                "singularName": "secret",
                "namespaced": True,
                "kind": "Secret",
                "verbs": [*verbs[:2], "deletecollection", *verbs[2:]],
            },
        ],
    }


def _openapi_v3_core() -> dict[str, Any]:
    """Just enough OpenAPI v3 for kubectl: PATCH operations tagged with their GVK and accepting
    ``fieldValidation`` (so kubectl validates on the server), and component schemas for the kinds."""
    params = [
        {"name": n, "in": "query", "schema": {"type": "string"}}
        for n in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for kind, path in (
        (_SECRETS, "/api/v1/namespaces/{namespace}/secrets/{name}"),
        (_NAMESPACES, "/api/v1/namespaces/{name}"),
    ):
        gvk = [{"group": "", "version": "v1", "kind": kind.kind}]
        paths[path] = {
            "patch": {
                "operationId": f"patchCoreV1{kind.kind}",
                "parameters": params,
                "x-kubernetes-group-version-kind": gvk[0],
                "responses": {"200": {"description": "OK"}},
            }
        }
        props: dict[str, Any] = {
            f: {"type": "object"} if f in ("metadata", "spec", "status") else {} for f in kind.known_fields
        }
        if kind is _SECRETS:
            props.update(
                {
                    "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                    "stringData": {"type": "object", "additionalProperties": {"type": "string"}},
                    "type": {"type": "string"},
                    "immutable": {"type": "boolean"},
                }
            )
        schemas[f"io.k8s.api.core.v1.{kind.kind}"] = {
            "type": "object",
            "properties": props,
            "x-kubernetes-group-version-kind": gvk,
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _age(timestamp: str) -> str:
    created = _dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
    seconds = int((_dt.datetime.now(_dt.UTC) - created).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _table(kind: _Kind, objects: list[dict[str, Any]], revision: str, include: str) -> dict[str, Any]:
    if kind is _SECRETS:
        columns = ["Name", "Type", "Data", "Age"]
        cells = [
            [
                o["metadata"]["name"],
                o.get("type", ""),
                len(o.get("data") or {}),
                _age(o["metadata"]["creationTimestamp"]),
            ]
            for o in objects
        ]
    else:
        columns = ["Name", "Status", "Age"]
        cells = [
            [o["metadata"]["name"], o["status"]["phase"], _age(o["metadata"]["creationTimestamp"])]
            for o in objects
        ]
    rows = []
    for obj, row in zip(objects, cells, strict=True):
        entry: dict[str, Any] = {"cells": row}
        if include == "Object":
            entry["object"] = obj
        elif include != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"},
            }
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision},
        "columnDefinitions": [
            {
                "name": c,
                "type": "integer" if c == "Data" else "string",
                "format": "name" if c == "Name" else "",
                "description": c,
                "priority": 0,
            }
            for c in columns
        ],
        "rows": rows,
    }


def _selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


# --------------------------------------------------------------------------- HTTP


_ROUTE = re.compile(
    r"^/api/v1(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>secrets|namespaces)(?:/(?P<name>[^/]+))?/?$"
)


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    user: User | None


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
            request = _Request(
                self.command, split.path, query, self.headers, body, owner._authenticate(self.headers)
            )
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
                self._store.create(
                    _NAMESPACES, None, {"metadata": {"name": name}}, manager="test", dry_run=False
                )

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
        return self.tokens.get(token.strip())

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
            return self._route(request, record)
        except ApiError as error:
            return error.code, error.status(), error.headers

    def _route(self, request: _Request, record: RequestRecord) -> tuple[int, Any, Mapping[str, str]]:
        user = request.user
        assert user is not None
        path = request.path.rstrip("/") or "/"
        if record.resource is None:
            return self._non_resource(user, path)
        kind = _KINDS[record.resource]
        verb, ns, name = record.verb or "", record.namespace, record.name
        if not user.can(verb, kind.resource, ns, name):
            raise _forbidden(user.name, verb, kind.resource, ns, name)
        with self._store.lock:
            return self._resource(request, user, kind, verb, ns, name)

    def _non_resource(self, user: User, path: str) -> tuple[int, Any, Mapping[str, str]]:
        if path in ("/version", "/healthz", "/livez", "/readyz"):
            return 200, SERVER_VERSION if path == "/version" else "ok", {}
        if user.name == "system:anonymous":
            raise ApiError(
                403, "Forbidden", f'forbidden: User "system:anonymous" cannot get path "{path}"', details={}
            )
        documents: dict[str, Any] = {
            "/api": {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self._host}:{self._port}"}
                ],
            },
            "/api/v1": _api_resource_list(),
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
            "/openapi/v3": {
                "paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=SOPSKITFAKE1"}}
            },
            "/openapi/v3/api/v1": _openapi_v3_core(),
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
                    o
                    for o in objects
                    if _selector_matches(query["labelSelector"], o["metadata"].get("labels") or {})
                ]
            if verb == "watch":
                return (
                    200,
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": kind.kind,
                            "apiVersion": "v1",
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
                    "apiVersion": "v1",
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
            if (kind.resource, ns, name) not in store.objects and not user.can(
                "create", kind.resource, ns, name
            ):
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


def _request_info(
    method: str, path: str, query: Mapping[str, str]
) -> tuple[str | None, str | None, str | None, str | None]:
    """(verb, resource, namespace, name) the way the API server's RequestInfo resolves them,
    including ``fieldSelector=metadata.name=...`` making a list/watch a named request."""
    match = _ROUTE.match(path)
    if not match:
        return None, None, None, None
    ns, resource, name = match["ns"], match["resource"], match["name"]
    if resource == "namespaces" and ns is not None:
        if name is not None:
            return None, None, None, None
        ns, name = None, ns  # /api/v1/namespaces/<name>
    if resource == "secrets" and ns is None and name is not None:
        return None, None, None, None
    if name is None:
        selector = query.get("fieldSelector", "")
        found = re.fullmatch(r"metadata\.name==?([^,]+)", selector)
        name = found[1] if found else None
        verbs = {
            "GET": "watch" if query.get("watch") in ("true", "1") else "list",
            "POST": "create",
            "DELETE": "deletecollection",
        }
    else:
        verbs = {"GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    return verbs.get(method), resource, ns, name


def _forbidden(user: str, verb: str, resource: str, ns: str | None, name: str | None) -> ApiError:
    subject = f'{resource} "{name}"' if name else resource
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "" {scope}',
        details={"name": name, "kind": resource} if name else {"kind": resource},
    )


def _default_manager(user_agent: str | None) -> str:
    return (user_agent or "unknown").split("/")[0][:128] or "unknown"


def _wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "").split(",")[0]


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad_request("the body of the request is not valid JSON")


def _object_body(
    request: _Request, kind: _Kind, warnings: list[str], validation: str | None
) -> dict[str, Any]:
    content_type = (request.headers.get("Content-Type") or JSON).split(";")[0].strip()
    if content_type == JSON:
        obj = _json_body(request.body)
    elif content_type == PROTOBUF:
        obj = decode_protobuf(request.body, kind)
    elif content_type in ("application/yaml", "application/x-yaml"):
        try:
            obj = yaml.safe_load(request.body.decode())
        except (yaml.YAMLError, UnicodeDecodeError):
            raise _bad_request("the body of the request is not valid YAML")
    else:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - "
            "accepted media types include: application/json, application/yaml, "
            "application/vnd.kubernetes.protobuf",
        )
    if not isinstance(obj, dict):
        raise _bad_request(f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}: not an object')
    if obj.get("kind", kind.kind) != kind.kind:
        raise _bad_request(
            f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}: the object '
            f"kind is {obj.get('kind')}"
        )
    unknown = [f for f in obj if f not in kind.known_fields]
    unknown += [f"metadata.{f}" for f in (obj.get("metadata") or {}) if f not in _METADATA_FIELDS]
    if unknown and validation == "Strict":
        raise _bad_request(
            f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}: strict decoding '
            f"error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
        )
    if unknown and validation != "Ignore":
        warnings.extend(f'unknown field "{f}"' for f in unknown)
    for f in unknown:
        (obj.get("metadata") or {}).pop(f.removeprefix("metadata."), None) if f.startswith(
            "metadata."
        ) else obj.pop(f)
    return obj


# --------------------------------------------------------------------------- protobuf bodies

PROTOBUF = "application/vnd.kubernetes.protobuf"
_PROTO_MAGIC = b"k8s\x00"


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Split one protobuf message into (field number, value): varints as int, the rest as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 2:
            length = varint()
            out.append((number, buf[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((number, buf[pos : pos + size]))
            pos += size
        else:
            raise _bad_request("unsupported protobuf wire type")
    return out


def _proto_map(entries: list[bytes], *, as_bytes: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        fields = dict(_proto_fields(entry))
        key, value = fields.get(1, b""), fields.get(2, b"")
        assert isinstance(key, bytes) and isinstance(value, bytes)
        result[key.decode()] = base64.b64encode(value).decode() if as_bytes else value.decode()
    return result


def _proto_group(buf: bytes) -> dict[int, list[int | bytes]]:
    grouped: dict[int, list[int | bytes]] = {}
    for number, value in _proto_fields(buf):
        grouped.setdefault(number, []).append(value)
    return grouped


def _text(values: list[int | bytes] | None) -> str | None:
    """The last string value; gogo-protobuf writes unset strings as "", which JSON would omit."""
    return values[-1].decode() or None if values and isinstance(values[-1], bytes) else None


def _proto_object_meta(buf: bytes) -> dict[str, Any]:
    """ObjectMeta (k8s.io/apimachinery generated.proto): the fields a client sets on create."""
    f = _proto_group(buf)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace"), (6, "resourceVersion")):
        if (text := _text(f.get(number))) is not None:
            meta[key] = text
    if 11 in f:
        meta["labels"] = _proto_map([v for v in f[11] if isinstance(v, bytes)])
    if 12 in f:
        meta["annotations"] = _proto_map([v for v in f[12] if isinstance(v, bytes)])
    if 14 in f:
        meta["finalizers"] = [v.decode() for v in f[14] if isinstance(v, bytes)]
    return meta


def decode_protobuf(body: bytes, kind: _Kind) -> dict[str, Any]:
    """Decode a ``k8s\\0`` + runtime.Unknown envelope holding a v1 Secret or Namespace.

    kubectl 1.32 sends typed ``create`` requests (``kubectl create secret generic``,
    ``kubectl create namespace``) as protobuf whatever discovery says, and the real API server
    accepts them, so the fake must too. Field numbers are those of k8s.io/api/core/v1/generated.proto.
    """
    if not body.startswith(_PROTO_MAGIC):
        raise _bad_request("provided protobuf is not a Kubernetes object (missing the k8s magic prefix)")
    envelope = _proto_group(body[len(_PROTO_MAGIC) :])
    type_meta = _proto_group(envelope[1][-1]) if 1 in envelope and isinstance(envelope[1][-1], bytes) else {}
    if _text(type_meta.get(2)) not in (None, kind.kind):
        raise _bad_request(f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}')
    raw = envelope.get(2, [b""])[-1]
    assert isinstance(raw, bytes)
    f = _proto_group(raw)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind.kind}
    if 1 in f and isinstance(f[1][-1], bytes):
        obj["metadata"] = _proto_object_meta(f[1][-1])
    if kind is _SECRETS:
        if 2 in f:
            obj["data"] = _proto_map([v for v in f[2] if isinstance(v, bytes)], as_bytes=True)
        if (secret_type := _text(f.get(3))) is not None:
            obj["type"] = secret_type
        if 4 in f:
            obj["stringData"] = _proto_map([v for v in f[4] if isinstance(v, bytes)])
        if 5 in f:
            obj["immutable"] = bool(f[5][-1])
    elif 2 in f and isinstance(f[2][-1], bytes):
        spec = _proto_group(f[2][-1])
        obj["spec"] = {"finalizers": [v.decode() for v in spec.get(1, []) if isinstance(v, bytes)]}
    return obj


# --------------------------------------------------------------------------- kubeconfig


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    token: str | None,
    ca_pem: bytes | None = None,
    namespace: str | None = None,
    context: str = "fake",
    extra_contexts: Mapping[str, str | None] | None = None,
) -> Path:
    """Write a kubeconfig for ``server`` with a bearer token (embedded CA when TLS is used).

    ``extra_contexts`` maps more context names to their tokens (same server), for ``--context`` tests.
    """
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    contexts = {context: token, **(extra_contexts or {})}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "fake-cluster", "cluster": cluster}],
        "users": [
            {"name": f"{ctx}-user", "user": {"token": tok} if tok else {}} for ctx, tok in contexts.items()
        ],
        "contexts": [
            {
                "name": ctx,
                "context": {
                    "cluster": "fake-cluster",
                    "user": f"{ctx}-user",
                    **({"namespace": namespace} if namespace else {}),
                },
            }
            for ctx in contexts
        ],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path
