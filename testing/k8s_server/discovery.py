"""Discovery documents, OpenAPI v3 and ``Table`` answers kubectl asks for."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from testing.k8s_server.kinds import _KUSTOMIZATIONS, _NAMESPACES, _SECRETS, FLUX_KUSTOMIZE_GROUP, _Kind


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


_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _api_group_list() -> dict[str, Any]:
    """``/apis``: Flux's kustomize group and ``authorization.k8s.io`` (for ``kubectl auth can-i``)."""
    groups = []
    for group in (FLUX_KUSTOMIZE_GROUP, "authorization.k8s.io"):
        version = {"groupVersion": f"{group}/v1", "version": "v1"}
        groups.append({"name": group, "versions": [version], "preferredVersion": version})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _group_resource_list(kind: _Kind) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": kind.api_version,
        "resources": [
            {
                "name": kind.resource,
                "singularName": kind.kind.lower(),
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": _VERBS,
                "shortNames": list(kind.short_names),
                "categories": ["all"],
            },
            {
                "name": f"{kind.resource}/status",
                "singularName": "",
                "namespaced": True,
                "kind": kind.kind,
                "verbs": ["get", "patch", "update"],
            },
        ],
    }


def _authorization_resource_list() -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "authorization.k8s.io/v1",
        "resources": [
            {
                "name": "selfsubjectaccessreviews",
                "singularName": "selfsubjectaccessreview",
                "namespaced": False,
                "kind": "SelfSubjectAccessReview",
                "verbs": ["create"],
            }
        ],
    }


def _openapi_v3_core(group: str = "") -> dict[str, Any]:
    """Just enough OpenAPI v3 for kubectl: PATCH operations tagged with their GVK and accepting
    ``fieldValidation`` (so kubectl validates on the server), and component schemas for the kinds
    of one group-version (the core group, or Flux's kustomize group)."""
    params = [
        {"name": n, "in": "query", "schema": {"type": "string"}}
        for n in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    kinds = (
        [
            (_SECRETS, "/api/v1/namespaces/{namespace}/secrets/{name}"),
            (_NAMESPACES, "/api/v1/namespaces/{name}"),
        ]
        if not group
        else [(_KUSTOMIZATIONS, f"{_KUSTOMIZATIONS.collection_path}/namespaces/{{namespace}}/kustomizations/{{name}}")]
    )
    for kind, path in kinds:
        gvk = [{"group": kind.group, "version": kind.version, "kind": kind.kind}]
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
        schema_name = (
            f"io.k8s.api.core.v1.{kind.kind}" if not kind.group else f"io.fluxcd.toolkit.kustomize.v1.{kind.kind}"
        )
        schemas[schema_name] = {
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


def _ready_condition(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), {})


def _table(kind: _Kind, objects: list[dict[str, Any]], revision: str, include: str) -> dict[str, Any]:
    if kind is _KUSTOMIZATIONS:
        columns = ["Name", "Age", "Ready", "Status"]
        cells = []
        for o in objects:
            ready = _ready_condition(o)
            cells.append(
                [
                    o["metadata"]["name"],
                    _age(o["metadata"]["creationTimestamp"]),
                    ready.get("status", "Unknown"),
                    ready.get("message", ""),
                ]
            )
    elif kind is _SECRETS:
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
            [o["metadata"]["name"], o["status"]["phase"], _age(o["metadata"]["creationTimestamp"])] for o in objects
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
