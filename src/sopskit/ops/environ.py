"""A decrypted document as environment variables: what ``exec-env`` hands its command.

sops's ``ValToString`` decides each value's text (Go's float and time formats), so a
command sees the same environment under sopskit as under sops.
"""

from __future__ import annotations

import datetime as _dt

from sopskit.errors import UsageError
from sopskit.format.codec import format_go_float, format_time
from sopskit.format.tree import Comment, TreeMap


def env_string(value: object) -> str:
    """sops's ``ValToString`` for environment values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_go_float(value)
    if isinstance(value, _dt.datetime):
        return format_time(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def secret_environment(branch: object) -> dict[str, str]:
    """Top-level scalars of the first document; nested values are an error, as in sops."""
    assert isinstance(branch, TreeMap)
    out: dict[str, str] = {}
    for key, value in branch.entries:
        if isinstance(key, Comment):
            continue
        if "=" in key:
            raise UsageError(f"cannot export {key!r}: environment variable names cannot contain '='")
        if isinstance(value, (TreeMap, list)):
            raise UsageError(f"cannot export {key!r}: only top-level scalar values can be "
                             "environment variables")
        if value is None:
            continue
        out[key] = env_string(value)
    return out


__all__ = ["env_string", "secret_environment"]
