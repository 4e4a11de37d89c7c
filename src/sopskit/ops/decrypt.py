"""Decrypting: to plaintext bytes in any output format, or to a Python mapping.

``load`` is the fast path applications use: no output formatting, comments ignored, and for
YAML without comments the C libyaml parser instead of the round-trip one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from sopskit.errors import EmitError, InputError
from sopskit.format.tree import TreeMap, to_plain
from sopskit.keys.base import KeyContext
from sopskit.ops.document import DEFAULT_DECRYPTION_ORDER, OpenedDocument
from sopskit.ops.sopsfile import open_encrypted
from sopskit.stores import format_for_path, get_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from sopskit.ops.treepath import PathPart  # paths are read with open(): pathlib costs a cold start ~4 ms


def make_context(identities: Sequence[str] | None = None) -> KeyContext:
    """A key context; ``identities`` (age identity strings) replace every key source."""
    return KeyContext(age_identities=list(identities) if identities is not None else None)


def read_input(path: str | Path) -> bytes:
    try:
        with open(os.fspath(path), "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def open_bytes(
    data: bytes,
    *,
    input_format: str,
    ignore_mac: bool = False,
    context: KeyContext | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
) -> OpenedDocument:
    """Decrypt an encrypted file's bytes into an :class:`OpenedDocument`.

    :func:`sopskit.ops.sopsfile.open_encrypted` with the environment's key sources by default."""
    return open_encrypted(
        data,
        input_format=input_format,
        context=context or make_context(),
        decryption_order=decryption_order,
        ignore_mac=ignore_mac,
    )


def emit_plaintext(
    opened: OpenedDocument,
    *,
    output_format: str,
    extract: Sequence[PathPart] | None = None,
    indent: int | None = None,
) -> bytes:
    """Write a decrypted document (or one extracted value) in ``output_format``."""
    store = get_store(output_format, indent=indent)
    if extract:
        if not opened.branches:
            raise EmitError("the file has no document to extract from")
        from sopskit.ops.treepath import get_at  # only --extract needs it

        value = get_at(opened.branches[0], list(extract))
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, TreeMap):
            return store.emit_plain([value])
        return store.emit_value(value)
    return store.emit_plain(opened.branches)


def decrypt(
    data: bytes,
    *,
    format: str,
    output_format: str | None = None,
    ignore_mac: bool = False,
    extract: Sequence[PathPart] | None = None,
    identities: Sequence[str] | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    indent: int | None = None,
    context: KeyContext | None = None,
) -> bytes:
    """Decrypt the bytes of a SOPS file and return the plaintext file's bytes.

    ``format`` is the store (``yaml``, ``json``, ``dotenv``, ``ini``, ``binary``);
    ``identities`` are age identities to use instead of the usual key sources; ``context``
    (the CLI's, e.g. with ``--from-cluster`` identities) replaces both.
    """
    opened = open_bytes(
        data,
        input_format=format,
        ignore_mac=ignore_mac,
        context=context or make_context(identities),
        decryption_order=decryption_order,
    )
    return emit_plaintext(opened, output_format=output_format or format, extract=extract, indent=indent)


def decrypt_or_keep(
    data: bytes,
    *,
    input_format: str,
    keys: Callable[[], tuple[KeyContext, Sequence[str]]],
) -> tuple[bytes, str | None]:
    """For git's textconv and diff drivers: the plaintext of an encrypted file, or the input
    itself and the reason it could not be decrypted (a plaintext file is returned as is).

    ``keys`` gives the key context and decryption order; it is called only for a file that
    has sops metadata, so showing a plaintext file never asks a cluster for a key.
    """
    from sopskit.errors import SopsError
    from sopskit.format.recognize import has_sops_metadata

    if not data.strip() or not has_sops_metadata(data):
        return data, None
    try:
        context, order = keys()
        opened = open_bytes(data, input_format=input_format, context=context, decryption_order=order)
        return emit_plaintext(opened, output_format=input_format), None
    except SopsError as exc:
        return data, exc.message


def decrypt_file(
    path: str | Path,
    *,
    format: str | None = None,
    output_format: str | None = None,
    ignore_mac: bool = False,
    extract: Sequence[PathPart] | None = None,
    identities: Sequence[str] | None = None,
) -> bytes:
    """Decrypt a SOPS file on disk; the format defaults to the one its name implies."""
    fmt = format or format_for_path(str(path))
    return decrypt(
        read_input(path),
        format=fmt,
        output_format=output_format,
        ignore_mac=ignore_mac,
        extract=extract,
        identities=identities,
    )


def load(
    source: str | Path | bytes,
    *,
    format: str | None = None,
    identities: Sequence[str] | None = None,
    ignore_mac: bool = False,
) -> dict[str, object]:
    """Decrypt a SOPS file (a path, or bytes with ``format``) to a plain ``dict``.

    The MAC is checked. For a multi-document YAML file this is the first document; use
    :func:`load_all` for every document.
    """
    docs = load_all(source, format=format, identities=identities, ignore_mac=ignore_mac)
    return docs[0] if docs else {}


def load_all(
    source: str | Path | bytes,
    *,
    format: str | None = None,
    identities: Sequence[str] | None = None,
    ignore_mac: bool = False,
) -> list[dict[str, object]]:
    if isinstance(source, bytes):
        if format is None:
            raise InputError("load() of bytes needs format= (yaml, json, dotenv, ini or binary)")
        data, fmt = source, format
    else:
        data, fmt = read_input(source), format or format_for_path(str(source))
    opened = open_bytes(data, input_format=fmt, ignore_mac=ignore_mac, context=make_context(identities))
    out: list[dict[str, object]] = []
    for branch in opened.branches:
        plain = to_plain(branch)
        assert isinstance(plain, dict)
        out.append(plain)
    return out
