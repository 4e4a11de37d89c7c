"""The one interface every store implements: bytes <-> tree, plain and encrypted.

A store never decrypts anything. ``load_encrypted`` returns the data branches with their
``ENC[...]`` strings untouched plus the ``sops`` block as plain values (nested ``dict`` /
``list`` / scalars, see :func:`sopskit.format.metadata.metadata_to_plain`);
``emit_encrypted`` takes the same shapes back. Stores that flatten metadata (dotenv, INI)
do so themselves.
"""

from __future__ import annotations

from typing import Any, Protocol

from sopskit.format.tree import TreeMap, Value


class Store(Protocol):
    #: the format name used by ``--input-type`` / ``--output-type``
    name: str

    def load_plain(self, data: bytes) -> list[TreeMap]:
        """Parse a plaintext file into branches; raises ParseError on bad syntax."""
        ...

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        """Parse an encrypted file into (branches without ``sops``, plain ``sops`` block).

        Raises FormatError when there is no ``sops`` metadata, ParseError on bad syntax.
        """
        ...

    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        """Write branches as a plaintext file, byte-exact with sops's output."""
        ...

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        """Write branches plus the ``sops`` block, byte-exact with sops's output."""
        ...

    def emit_value(self, value: Value) -> bytes:
        """Write one sub-tree for ``decrypt --extract`` (sops's ``EmitValue``)."""
        ...

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        """True if a plaintext branch already holds a ``sops`` key (refuse to encrypt)."""
        ...
