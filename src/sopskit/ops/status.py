"""``filestatus``: is this file a SOPS file? Nothing is decrypted.

sops's definition: the store finds a ``sops`` metadata block whose ``version`` and ``mac``
are both non-empty. A file the store cannot parse at all is an error (the caller asked about
a file that is not in the format it claims), a parsable file without metadata is simply
not encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sopskit.errors import FormatError
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

    store = get_store(input_format)
    try:
        _branches, plain = store.load_encrypted(data)
    except ParseError:
        if input_format == "binary":  # any file is a valid plaintext binary file
            return FileStatus(False)
        raise
    except FormatError:
        return FileStatus(False)
    if not isinstance(plain, dict):
        return FileStatus(False)
    folded = {str(k).lower(): v for k, v in plain.items()}
    return FileStatus(bool(folded.get("version")) and bool(folded.get("mac")))


__all__ = ["FileStatus", "file_status"]
