"""A Secret manifest's values as the API server would store them.

``data`` is base64 (kustomize wraps long values at 76 characters, and the API server's Go
decoder ignores line breaks, so they are dropped before decoding); ``stringData`` is merged on
top, as the API server does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from sopskit.review.errors import BuildError


def unwrap(value: object) -> str:
    """A ``data`` value without the line breaks kustomize may have put in it."""
    return str(value).replace("\n", "").replace("\r", "")


def desired_values(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """``data`` decoded, ``stringData`` merged on top. Invalid base64 is an error that names the
    key, never the value."""
    out: dict[str, bytes] = {}
    data = secret.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            try:
                out[str(key)] = base64.b64decode(unwrap(value), validate=True)
            except (binascii.Error, ValueError):
                raise BuildError(f"Secret data[{key!r}] is not valid base64") from None
    string_data = secret.get("stringData")
    if isinstance(string_data, dict):
        for key, value in string_data.items():
            out[str(key)] = str(value).encode("utf-8")
    return out
