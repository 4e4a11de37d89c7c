"""The object store: one lock, one resourceVersion counter, field ownership, server-side apply."""

from __future__ import annotations

import base64
import copy
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from testing.k8s_server.errors import ApiError, _bad_request, _invalid, _not_found
from testing.k8s_server.kinds import (
    _CONFIG_KEY,
    _DNS1123_LABEL,
    _DNS1123_SUBDOMAIN,
    _INITIAL_NAMESPACES,
    _KUSTOMIZATIONS,
    _MAX_SECRET_BYTES,
    _NAMESPACES,
    _SECRETS,
    _b64_error,
    _Kind,
    _now,
)

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
                    "apiVersion": self.obj.get("apiVersion", "v1"),
                    "time": m.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": _fields_v1(m.paths),
                }
                for name, m in self.managers.items()
                if m.paths
            ]
        return out


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

    def _normalize(self, kind: _Kind, ns: str | None, obj: dict[str, Any], existing: _Stored | None) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
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
        elif kind is _KUSTOMIZATIONS:
            self._normalize_kustomization(obj, name, existing)
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

    def _normalize_kustomization(self, obj: dict[str, Any], name: str, existing: _Stored | None) -> None:
        """``status`` is a subresource: a client's create or update never sets it."""
        if not name or not _DNS1123_SUBDOMAIN.match(name):
            raise _invalid("Kustomization", name, "kustomizations", [("metadata.name", "Required value: a valid name")])
        if not isinstance(obj.get("spec"), dict):
            raise _invalid("Kustomization", name, "kustomizations", [("spec", "Required value")])
        obj.pop("status", None)
        if existing is not None and "status" in existing.obj:
            obj["status"] = copy.deepcopy(existing.obj["status"])

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

    def delete(self, kind: _Kind, ns: str | None, name: str, *, precondition_rv: str | None, dry_run: bool) -> _Stored:
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
        raise _bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
    meta["name"] = name
    wanted = _leaf_paths(config)
    existing = store.objects.get((kind.resource, ns, name))
    if existing is None:
        stored = store.create(kind, ns, config, manager=manager, dry_run=dry_run, operation="Apply", owned=set(wanted))
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
    return {k: (v.operation, v.paths) for k, v in a.items()} == {k: (v.operation, v.paths) for k, v in b.items()}
