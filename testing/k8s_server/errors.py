"""Errors the fake answers as ``Status`` objects, worded like the real API server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', details={"name": name, "kind": resource})


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


def _forbidden(user: str, verb: str, resource: str, ns: str | None, name: str | None) -> ApiError:
    subject = f'{resource} "{name}"' if name else resource
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "" {scope}',
        details={"name": name, "kind": resource} if name else {"kind": resource},
    )
