"""The binary store: any file as one string under ``data``, kept in a JSON envelope.

sops reads a file it has no format for as raw bytes and stores them as the single value
``data`` (AAD ``data:``); the encrypted file is the JSON store's output
``{"data": "ENC[...]", "sops": {...}}``. Decrypting writes the bytes back exactly, with no
newline added.

Why ``surrogateescape``: the bytes need not be UTF-8. Decoding with it keeps every byte, and the
codec encodes strings with the same handler, so the ciphertext and the MAC cover exactly the
original bytes.
"""

from __future__ import annotations

from typing import Any

from sopskit.errors import EmitError
from sopskit.format.tree import TreeMap, Value
from sopskit.stores.json import JsonStore
from sopskit.stores.limits import check_size

DATA_KEY = "data"


class BinaryStore:
    """sops's binary store (``stores/json/store.go``, ``BinaryStore``)."""

    name = "binary"

    def __init__(self, indent: int = -1) -> None:
        self._json = JsonStore(indent)

    def load_plain(self, data: bytes) -> list[TreeMap]:
        check_size(data)
        return [TreeMap([(DATA_KEY, data.decode("utf-8", "surrogateescape"))])]

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        return self._json.load_encrypted(data)

    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        if len(branches) != 1:
            raise EmitError("error emitting binary store: there must be exactly one tree branch")
        for key, value in branches[0].items():
            if key != DATA_KEY:
                continue
            if isinstance(value, str):
                return value.encode("utf-8", "surrogateescape")
            if isinstance(value, bytes):  # type:bytes values written by sops 1.x
                return value
            raise EmitError("error emitting binary store: 'data' key in tree does not have a string value")
        raise EmitError("error emitting binary store: no binary data found in tree")

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        return self._json.emit_encrypted(branches, metadata)

    def emit_value(self, value: Value) -> bytes:
        raise EmitError(
            "binary files are not structured and extracting a single value is not possible"
        )

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        return self._json.has_sops_metadata(branch)
