"""Bytes to text the way sops's YAML library reads them.

sops parses ``.sops.yaml`` and YAML files with go-yaml v3, whose reader picks the encoding from
a byte-order mark (``yaml_parser_determine_encoding`` in readerc.go): ``FF FE`` is UTF-16LE,
``FE FF`` UTF-16BE, ``EF BB BF`` UTF-8 (the mark is skipped), and no mark means UTF-8. Windows
editors save files as UTF-16 with a mark; sops reads them, so sopskit must too, and must never
hand a YAML parser text full of NUL characters.
"""

from __future__ import annotations

import codecs

_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(raw: bytes, errors: str = "strict") -> str:
    """``raw`` decoded as go-yaml v3 would: by its byte-order mark, else as UTF-8. Raises
    :class:`UnicodeDecodeError` with ``errors="strict"`` when the bytes are not that encoding."""
    for mark, encoding in _MARKS:
        if raw.startswith(mark):
            return raw[len(mark):].decode(encoding, errors)
    return raw.decode("utf-8", errors)


def has_utf16_mark(raw: bytes) -> bool:
    """A UTF-16 byte-order mark: text whose every other byte is NUL, not a binary file."""
    return raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
