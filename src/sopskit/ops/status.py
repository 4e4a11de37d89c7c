"""``filestatus``: is this file a SOPS file? Nothing is decrypted.

sops's definition (``cmd/sops/subcommand/filestatus``): the file loads as an encrypted file
(the store finds a ``sops`` block and its metadata parses: keys present, RFC 3339 times) and
its ``version`` and ``mac`` are both non-empty. A file without any ``sops`` block is simply
not encrypted; any other load failure (bad syntax, a ``sops`` block without keys or with a
malformed time) is an error, as in sops. One deliberate difference: a file read with the
binary store that is not JSON is "not encrypted" here (any file is a valid plaintext binary
file), where sops fails to parse it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from sopskit.errors import MetadataNotFoundError
from sopskit.stores import get_store


@dataclass(frozen=True)
class FileStatus:
    encrypted: bool

    def to_json(self) -> str:
        """Byte-exact with sops: ``{"encrypted":true}`` (the caller adds the newline)."""
        return '{"encrypted":%s}' % ("true" if self.encrypted else "false")


def file_status(data: bytes, *, input_format: str) -> FileStatus:
    """Parse ``data`` with the store for ``input_format`` and look at its metadata."""
    from sopskit.errors import ParseError
    from sopskit.format.metadata import metadata_from_plain

    store = get_store(input_format)
    try:
        _branches, plain = store.load_encrypted(data)
    except ParseError:
        if input_format == "binary":  # any file is a valid plaintext binary file
            return FileStatus(False)
        raise
    except MetadataNotFoundError:
        return FileStatus(False)
    metadata = metadata_from_plain(plain)  # sops's LoadEncryptedFile converts it: errors count
    return FileStatus(bool(metadata.version) and bool(metadata.mac))


__all__ = ["FileStatus", "file_status"]
