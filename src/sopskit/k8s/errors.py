"""Kubernetes API failures translated into :class:`sopskit.errors.ClusterError` subclasses.

The official client raises ``ApiException`` (an HTTP status and a ``Status`` body) or urllib3
errors; callers of :mod:`sopskit.k8s.client` should only ever see the classes below. Messages are
built from what we asked (verb, resource, namespace, name) and the Status ``reason``/``code``,
never by echoing request or response bodies, so no Secret data can reach a message.

::

    ClusterError (sopskit.errors)
    ├── KubeconfigError           no or unusable kubeconfig / context / in-cluster config
    ├── ClusterUnreachableError   connection refused, reset, TLS failure, timeout
    ├── ClusterUnauthorizedError  401: credentials rejected
    ├── ClusterForbiddenError     403: RBAC; the hint holds the minimal Role
    ├── ClusterNotFoundError      404
    └── ClusterConflictError      409: stale resourceVersion
        └── AlreadyExistsError    409: create of an object that exists
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sopskit.errors import ClusterError
from sopskit.k8s.rbac import minimal_role_yaml

__all__ = [
    "AlreadyExistsError",
    "ClusterConflictError",
    "ClusterForbiddenError",
    "ClusterNotFoundError",
    "ClusterUnauthorizedError",
    "ClusterUnreachableError",
    "KubeconfigError",
    "Request",
    "from_api_exception",
    "from_connection_error",
]


class KubeconfigError(ClusterError):
    """No usable cluster configuration (kubeconfig file, context or in-cluster service account)."""


class ClusterUnreachableError(ClusterError):
    """The API server could not be reached, or the connection broke before an answer."""


class ClusterUnauthorizedError(ClusterError):
    """401: the server did not accept the credentials."""


class ClusterForbiddenError(ClusterError):
    """403: the credentials are valid but RBAC does not allow the request."""

    def __init__(self, message: str, *, request: Request, user: str | None, hint: str | None) -> None:
        super().__init__(message, hint=hint)
        self.request = request
        self.user = user


class ClusterNotFoundError(ClusterError):
    """404: the namespace or object does not exist."""


class ClusterConflictError(ClusterError):
    """409: the object changed since it was read (stale ``resourceVersion``)."""


class AlreadyExistsError(ClusterConflictError):
    """409 ``AlreadyExists``: a create found the object already there."""


class RotationInterruptedError(ClusterError):
    """A rotation stopped after the new key reached the cluster; ``--resume`` finishes it."""


class RotationPausedError(ClusterError):
    """``--resume`` at a pause, but the outside world has not acted yet (not committed, not
    pushed, or Flux has not applied the pushed revision): nothing was changed."""


@dataclass(frozen=True)
class Request:
    """What we asked the API server, in RBAC terms; the vocabulary of every message."""

    verb: str
    resource: str  # plural, as RBAC names it: "secrets", "namespaces"
    namespace: str | None
    name: str | None

    def describe(self) -> str:
        singular = self.resource.removesuffix("s")
        what = f'{singular} "{self.name}"' if self.name else self.resource
        return f'{what} in namespace "{self.namespace}"' if self.namespace else what


_USER = re.compile(r'User "([^"]*)"')


def _status(body: Any) -> dict[str, Any]:
    """The Status object of an error answer, or {} when the body is not one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) and parsed.get("kind") == "Status" else {}


def forbidden_hint(request: Request) -> str:
    namespace = request.namespace or "flux-system"
    name = request.name if request.resource == "secrets" and request.name else "sops-age"
    needs_namespace = request.resource == "namespaces"
    return (
        f'grant the minimal Role: "create" on secrets, and "get", "update", "delete" on secrets with '
        f'resourceNames [{name}] in namespace "{namespace}"'
        + (
            '; "get"/"create" on namespaces (a ClusterRole) only because sopskit creates the namespace'
            if needs_namespace
            else ""
        )
        + ":\n"
        + minimal_role_yaml(namespace, name, with_namespace_access=needs_namespace).rstrip("\n")
    )


def from_api_exception(status: int, body: Any, request: Request, server: str) -> ClusterError:
    """Translate one error answer of the API server (HTTP ``status`` + ``Status`` ``body``)."""
    info = _status(body)
    reason = str(info.get("reason") or "")
    what = request.describe()
    if status == 401:
        return ClusterUnauthorizedError(
            f"the cluster rejected the credentials (401) at {server}",
            hint="check the token or client certificate of the kubeconfig context; tokens expire "
            "(`kubectl auth whoami` shows who the cluster thinks you are)",
        )
    if status == 403:
        found = _USER.search(str(info.get("message") or ""))
        user = found[1] if found else None
        as_user = f' as User "{user}"' if user else ""
        return ClusterForbiddenError(
            f"not allowed to {request.verb} {what}{as_user} (403 Forbidden)",
            request=request,
            user=user,
            hint=forbidden_hint(request),
        )
    if status == 404:
        details = info.get("details") or {}
        if details.get("kind") == "namespaces" and request.resource != "namespaces":
            return ClusterNotFoundError(
                f'namespace "{details.get("name") or request.namespace}" does not exist (404)',
                hint="create the namespace first (or let sopskit create it, which needs namespace rights)",
            )
        return ClusterNotFoundError(f"{what} does not exist (404)")
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExistsError(
            f"{what} already exists (409 AlreadyExists)",
            hint="replace it instead, or delete it first",
        )
    if status == 409:
        return ClusterConflictError(
            f"{what} was changed by someone else since it was read (409 Conflict)",
            hint="read it again and retry",
        )
    if status == 422:
        causes = (info.get("details") or {}).get("causes") or []
        fields = sorted({str(c.get("field")) for c in causes if isinstance(c, dict) and c.get("field")})
        where = f": invalid field(s) {', '.join(fields)}" if fields else ""
        return ClusterError(f"the cluster refused to {request.verb} {what} (422 Invalid){where}")
    label = f"{status} {reason}".strip()
    return ClusterError(f"the Kubernetes API at {server} answered {label} to {request.verb} {what}")


def from_connection_error(exc: BaseException, request: Request, server: str) -> ClusterUnreachableError:
    """Translate a transport failure; the cause's class names the problem without its text."""
    cause: BaseException = exc
    while getattr(cause, "reason", None) is not None and isinstance(cause.reason, BaseException):  # type: ignore[attr-defined]
        cause = cause.reason  # type: ignore[attr-defined]
    kind = type(cause).__name__
    tls = "SSL" in kind or "Certificate" in kind
    return ClusterUnreachableError(
        f"cannot reach the Kubernetes API at {server} ({kind}) to {request.verb} {request.describe()}",
        hint="check the TLS settings (certificate-authority) of the kubeconfig cluster"
        if tls
        else "check that the cluster is up and that the kubeconfig's server address is right",
    )
