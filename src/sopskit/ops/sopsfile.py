"""Open an encrypted file: the one way from bytes (or a path) to metadata and plaintext.

Every use case that reads a SOPS file does the same steps: pick the format (given, from the
file name as sops does, or sniffed from the bytes for a Git blob without a name), parse it
with that store, read the metadata, recover the data key and decrypt. A dozen use cases
(edit, rotate, updatekeys, the cluster-key rotation, leak search, review, doctor, inventory)
composed those steps by hand; they are composed here once, and ``sopskit.ops.document``
holds the steps themselves.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sopskit.format.metadata import Metadata
from sopskit.format.tree import TreeMap
from sopskit.keys.base import KeyContext
from sopskit.ops.document import (
    DEFAULT_DECRYPTION_ORDER,
    OpenedDocument,
    RngFn,
    open_document,
    read_encrypted,
)
from sopskit.stores import format_for_path, get_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path  # not imported at run time: ops.decrypt (a cold start) uses this module
    from typing import Any


def sniff_format(data: bytes) -> str:
    """The store of an encrypted file with no name (a Git blob): its sops block tells."""
    head = data.lstrip()[:1]
    if head == b"{":
        return "json"
    if b"\nsops_mac=" in data or data.startswith(b"sops_mac="):
        return "dotenv"
    if b"\n[sops]" in data or data.startswith(b"[sops]"):
        return "ini"
    return "yaml"


def format_of(data: bytes, *, input_format: str | None = None, name: str | Path | None = None) -> str:
    """``input_format`` when given, else sops's rule on ``name``'s suffix, else sniffed."""
    if input_format:
        return input_format
    if name is not None:
        return format_for_path(os.fspath(name))
    return sniff_format(data)


def parse_encrypted(
    data: bytes, *, input_format: str | None = None, name: str | Path | None = None
) -> tuple[list[TreeMap], Metadata]:
    """The still-encrypted branches and the metadata (no key needed)."""
    return read_encrypted(data, get_store(format_of(data, input_format=input_format, name=name)))


def read_metadata(path: str | Path, *, input_format: str | None = None) -> Metadata:
    """The metadata of the SOPS file at ``path`` (no key needed)."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    return parse_encrypted(data, input_format=input_format, name=path)[1]


def open_encrypted(
    data: bytes,
    *,
    context: KeyContext,
    input_format: str | None = None,
    name: str | Path | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    ignore_mac: bool = False,
    data_key: bytes | None = None,
    parsed: tuple[list[TreeMap], Metadata] | None = None,
    rng: RngFn = os.urandom,
) -> OpenedDocument:
    """Decrypt an encrypted file's bytes (MAC checked unless ``ignore_mac``).

    ``parsed`` is what :func:`parse_encrypted` returned for ``data`` when the caller looked at
    the metadata first; ``data_key`` skips the key recovery (a caller caching data keys).
    """
    branches, metadata = parsed or parse_encrypted(data, input_format=input_format, name=name)
    return open_document(branches, metadata, context=context, decryption_order=decryption_order,
                         ignore_mac=ignore_mac, data_key=data_key, rng=rng)


def plain_documents(
    data: bytes, *, context: KeyContext, input_format: str | None = None, name: str | Path | None = None
) -> list[dict[str, Any]]:
    """The mapping documents of a file as plain Python data: decrypted (MAC checked) when it
    is a SOPS file, read as is otherwise (a plaintext manifest next to encrypted ones)."""
    from sopskit.format.recognize import has_sops_metadata
    from sopskit.format.tree import to_plain

    fmt = format_of(data, input_format=input_format, name=name)
    if has_sops_metadata(data):
        branches = open_encrypted(data, input_format=fmt, context=context).branches
    else:
        branches = get_store(fmt).load_plain(data)
    return [p for p in (to_plain(b) for b in branches) if isinstance(p, dict)]


__all__ = [
    "format_of",
    "open_encrypted",
    "parse_encrypted",
    "plain_documents",
    "read_metadata",
    "sniff_format",
]
