"""What one version of a SOPS file says without a key: identity, entries, recipients, MAC.

Entries are the file's leaves by path (``data.password``, ``items[0].token``). For a Secret only
``data`` and ``stringData`` count (its other fields are reported as kind/namespace/name). An
entry's *token* is what comparison uses: the ``ENC[...]`` string for an encrypted leaf (sopskit's
and sops's edit keep the ciphertext of an unchanged value, so an unchanged token means an
unchanged value), and a keyed fingerprint for a plaintext leaf. Tokens are never shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sopskit.errors import SopsError
from sopskit.format.metadata import Metadata
from sopskit.format.recognize import has_sops_metadata, is_enc_value
from sopskit.format.tree import TreeMap, Value
from sopskit.ops.document import read_encrypted
from sopskit.ops.rekey import record_label
from sopskit.review.fingerprint import Fingerprinter
from sopskit.stores import format_for_path, get_store

SECRET_DATA_FIELDS = ("data", "stringData")


@dataclass
class FileView:
    """One side of a change. ``parsed`` is False when the bytes could not be read as a file of
    their format (then only ``encrypted`` is known)."""

    path: str
    format: str
    encrypted: bool
    parsed: bool = True
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    #: entry path -> comparison token (ciphertext, or a keyed fingerprint of plaintext)
    entries: dict[str, str] = field(default_factory=dict, repr=False)
    #: "age age1…" -> the wrapped data key record (changes when the data key is re-wrapped)
    recipients: dict[str, str] = field(default_factory=dict)
    mac: str = field(default="", repr=False)
    lastmodified: str = ""
    metadata: Metadata | None = field(default=None, repr=False)
    branches: list[TreeMap] = field(default_factory=list, repr=False)


def _plain_str(value: Value) -> str | None:
    """A plain identity field (kind, name...): None when absent or itself encrypted."""
    if isinstance(value, str) and value and not is_enc_value(value):
        return value
    return None


def _leaves(value: Value, prefix: str) -> Iterator[tuple[str, Value]]:
    if isinstance(value, TreeMap):
        for key, child in value.items():
            yield from _leaves(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, f"{prefix}[{index}]")
    else:
        yield prefix, value


def entries_of(branches: list[TreeMap]) -> Iterator[tuple[str, Value]]:
    """Every compared leaf, by path; a document index prefix when there are several."""
    many = len(branches) > 1
    for index, branch in enumerate(branches):
        lead = f"#{index} " if many else ""
        if branch.get("kind") == "Secret":
            for fieldname in SECRET_DATA_FIELDS:
                sub = branch.get(fieldname)
                if sub is not None:
                    for path, leaf in _leaves(sub, fieldname):
                        yield lead + path, leaf
        else:
            for path, leaf in _leaves(branch, ""):
                yield lead + path, leaf


def _token(value: Value, fingerprints: Fingerprinter) -> str:
    if isinstance(value, str) and is_enc_value(value):
        return value
    return "plain:" + fingerprints.digest(repr(value))


def _identity(view: FileView, branches: list[TreeMap]) -> None:
    for branch in branches:
        kind = _plain_str(branch.get("kind"))
        if kind is None:
            continue
        meta = branch.get("metadata")
        view.kind = kind
        if isinstance(meta, TreeMap):
            view.namespace = _plain_str(meta.get("namespace"))
            view.name = _plain_str(meta.get("name"))
        return


def view_file(path: str, data: bytes, fingerprints: Fingerprinter) -> FileView:
    """Read one version of ``path``. Never decrypts; never raises on malformed content."""
    fmt = format_for_path(path)
    encrypted = has_sops_metadata(data)
    view = FileView(path=path, format=fmt, encrypted=encrypted)
    store = get_store(fmt)
    try:
        if encrypted:
            branches, metadata = read_encrypted(data, store)
            view.metadata = metadata
            view.mac = metadata.mac
            view.lastmodified = metadata.lastmodified
            view.recipients = {record_label(r): r.enc for r in metadata.records()}
        else:
            branches = store.load_plain(data)
    except SopsError:
        view.parsed = False
        return view
    view.branches = branches
    if fmt in ("yaml", "json"):
        _identity(view, branches)
    view.entries = {p: _token(v, fingerprints) for p, v in entries_of(branches)}
    return view
