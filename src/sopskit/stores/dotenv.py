"""The dotenv store, byte-exact with sops 3.13.2 (``stores/dotenv/store.go``).

sops's dotenv is deliberately simple, and so is this: the input is split on ``\\n`` only
(a ``\\r`` stays in the value), blank lines are skipped, a line starting with ``#`` is a comment
(its text is everything after the ``#``), every other line is split at its first ``=`` with
nothing trimmed, and the two characters ``\\n`` in a value become a newline. There are no
quotes and no ``export``. Every value is a string.

Metadata lives in the same file as ``sops_``-prefixed flattened keys after the data, so any
key starting with ``sops_`` is metadata when reading.
"""

from __future__ import annotations

from typing import Any

from sopskit.errors import EmitError, MetadataNotFoundError, ParseError
from sopskit.format.tree import Comment, Key, TreeMap, Value
from sopskit.stores.flatten import (
    escape_newlines,
    flatten_metadata,
    unescape_newlines,
    unflatten_metadata,
    value_to_text,
)
from sopskit.stores.limits import check_size

SOPS_PREFIX = "sops_"


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_dotenv(data: bytes) -> TreeMap:
    """Parse dotenv bytes into one branch; a line without ``=`` is a ParseError."""
    check_size(data)
    branch = TreeMap()
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line:
            continue
        if line.startswith(b"#"):
            branch.entries.append((Comment(_text(line[1:])), None))
            continue
        key, sep, value = line.partition(b"=")
        if not sep:
            raise ParseError(f"invalid dotenv input: line {number} has no '='")
        branch.entries.append((_text(key), unescape_newlines(_text(value))))
    return branch


def _line(key: Key, value: Value) -> str:
    if isinstance(value, (TreeMap, list)):
        where = f" (key {key!r})" if isinstance(key, str) else ""
        raise EmitError(f"cannot use complex value in dotenv file{where}")
    if isinstance(key, Comment):
        return f"#{key.text}\n"
    try:
        text = value_to_text(value)
    except TypeError as exc:
        raise EmitError(f"cannot write the value of key {key!r} in a dotenv file: {exc}") from None
    return f"{key}={escape_newlines(text)}\n"


def _last_wins(flat: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A repeated ``sops_`` key keeps its last value, as sops up to 3.12 read it.

    sops 3.8 encrypted an already encrypted dotenv file without complaint: the old ``sops_``
    lines became ``ENC[...]`` data and fresh metadata followed them. sops <= 3.12 collects the
    metadata in a Go map (``stores/dotenv/store.go``, ``mdMap[key] = item.Value``), so the
    last line wins and such files open; 3.13's unflattening refuses them ("Duplicate value").
    Opening them lets their owners repair them.
    """
    merged = dict(flat)
    return list(merged.items()) if len(merged) != len(flat) else flat


class DotenvStore:
    """sops's dotenv store: one branch of ``KEY=value`` lines."""

    name = "dotenv"

    def __init__(self, indent: int | None = None) -> None:
        """``indent`` is accepted because the registry passes it to every store; unused."""

    def load_plain(self, data: bytes) -> list[TreeMap]:
        return [parse_dotenv(data)]

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        branch = parse_dotenv(data)
        body = TreeMap()
        flat: list[tuple[str, str]] = []
        for key, value in branch.entries:
            if isinstance(key, str) and key.startswith(SOPS_PREFIX):
                assert isinstance(value, str)
                flat.append((key[len(SOPS_PREFIX):], value))
            else:
                body.entries.append((key, value))
        if not flat:
            raise MetadataNotFoundError("sops metadata not found: the file has no sops_ keys")
        return [body], unflatten_metadata(_last_wins(flat))

    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        if not branches:
            return b""
        text = "".join(_line(key, value) for key, value in branches[0].entries)
        return text.encode("utf-8", "surrogateescape")

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        data = branches[0].entries if branches else []
        extra: list[tuple[Key, Value]] = [
            (SOPS_PREFIX + key, text) for key, text in flatten_metadata(metadata)
        ]
        return self.emit_plain([TreeMap([*data, *extra])])

    def emit_value(self, value: Value) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        raise EmitError(f"the dotenv store only supports emitting strings, got {type(value).__name__}")

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        return any(key.startswith(SOPS_PREFIX) for key, _ in branch.items())
