"""Base64-wrapped text: decoding bounded, and the PEM armour that hides behind ``LS0tLS``.

A private key committed base64-encoded (a Talos machine config's ``key:``, a Helm value
``tls.key: LS0tLS1CRUdJTi...``, a kubeconfig's ``client-key-data``) never shows its own
``-----BEGIN`` line, so both the scanner and the policy's ``private-key`` check must look one
layer down. The decoder lives here, below both, so they decode the same way.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

#: Longest encoded value decoded (a 4096-bit RSA key in PEM is about 4.4 KiB encoded).
MAX_ENCODED = 96 * 1024
#: A base64 run whose decoded text starts with ``-----`` (a PEM armour line).
PEM_B64 = re.compile(rb"LS0tLS[A-Za-z0-9+/]{34,%d}={0,2}" % MAX_ENCODED)
_B64_VALUE = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")
#: A value known to be base64 (a Secret's ``data``) is decoded below 16 characters too.
_B64_SHORT = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def decode_value(text: bytes, short: bool = False) -> bytes | None:
    """The decoded bytes of a base64 value when they are mostly printable text, else None.
    ``short``: the value is known to be base64 (a Secret's ``data``), so below 16 characters
    it is decoded when it is canonically padded."""
    compact = b"".join(text.split())
    if len(compact) > MAX_ENCODED or not (_B64_VALUE.fullmatch(compact)
                                          or (short and compact and _B64_SHORT.fullmatch(compact))):
        return None
    try:
        out = base64.b64decode(compact + b"=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return None
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in out)
    return out if out and printable * 10 >= len(out) * 9 else None


def pem_runs(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Each base64 run in ``data`` that decodes to PEM-looking text: (start, end, decoded)."""
    if b"LS0tLS" not in data:
        return
    for match in PEM_B64.finditer(data):
        decoded = decode_value(match.group())
        if decoded is not None:
            yield match.start(), match.end(), decoded
