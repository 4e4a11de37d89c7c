"""Turning an HTTP request into (verb, resource, namespace, name) and a decoded object body."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import yaml

from testing.k8s_server.errors import ApiError, _bad_request
from testing.k8s_server.kinds import _KINDS, _METADATA_FIELDS, JSON, _Kind
from testing.k8s_server.protobuf import PROTOBUF, decode_protobuf
from testing.k8s_server.rbac import User

_ROUTE = re.compile(
    r"^(?P<prefix>/api/v1|/apis/[^/]+/[^/]+)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?/?$"
)
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    user: User | None


def _request_info(
    method: str, path: str, query: Mapping[str, str]
) -> tuple[str | None, str | None, str | None, str | None]:
    """(verb, resource, namespace, name) the way the API server's RequestInfo resolves them,
    including ``fieldSelector=metadata.name=...`` making a list/watch a named request."""
    if path.rstrip("/") == SSAR_PATH:
        return ("create" if method == "POST" else None), "selfsubjectaccessreviews", None, None
    match = _ROUTE.match(path)
    if not match:
        return None, None, None, None
    ns, resource, name = match["ns"], match["resource"], match["name"]
    kind = _KINDS.get(resource)
    if kind is None or kind.collection_path != match["prefix"]:
        return None, None, None, None
    if resource == "namespaces" and ns is not None:
        if name is not None:
            return None, None, None, None
        ns, name = None, ns  # /api/v1/namespaces/<name>
    if resource != "namespaces" and ns is None and name is not None:
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


def _default_manager(user_agent: str | None) -> str:
    return (user_agent or "unknown").split("/")[0][:128] or "unknown"


def _wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "").split(",")[0]


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _bad_request("the body of the request is not valid JSON")


def _object_body(request: _Request, kind: _Kind, warnings: list[str], validation: str | None) -> dict[str, Any]:
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
            f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}: the object kind is {obj.get("kind")}'
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
        (obj.get("metadata") or {}).pop(f.removeprefix("metadata."), None) if f.startswith("metadata.") else obj.pop(f)
    return obj
