"""Base64-wrapped secrets: values whose decoded text is what a provider rule recognises.

Kubernetes stores Secret ``data`` base64-encoded and kubeconfig files carry client keys as
``client-key-data``, so a private key or token committed there never shows its own shape.
Two places are decoded, both cheap to find: any base64 run that starts like an encoded PEM
armour line (``LS0tLS`` is ``----``), and each ``data`` value of a Secret manifest (YAML or
JSON). Decoding is bounded (64 KiB per value) and only printable results are returned.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sopskit.scan import kube

MAX_ENCODED = 96 * 1024
_PEM_B64 = re.compile(rb"LS0tLS[A-Za-z0-9+/]{34,%d}={0,2}" % MAX_ENCODED)
_B64_VALUE = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")
#: A Secret's ``data`` value is base64 by definition, so short ones are decoded too.
_B64_SHORT = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(frozen=True)
class EncodedValue:
    """A base64 value in the content: its 1-based line, byte span and decoded bytes."""

    line: int
    span: tuple[int, int]
    decoded: bytes


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


def _line_offset(data: bytes, line: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = data.find(b"\n", pos) + 1
        if pos == 0:
            return len(data)
    return pos


def encoded_values(data: bytes) -> list[EncodedValue]:
    """Base64 values worth decoding: PEM-looking runs anywhere, and Secret ``data`` values."""
    out: list[EncodedValue] = []
    seen: set[int] = set()
    if b"LS0tLS" in data:
        for m in _PEM_B64.finditer(data):
            decoded = decode_value(m.group())
            if decoded is not None:
                out.append(EncodedValue(data.count(b"\n", 0, m.start()) + 1, m.span(), decoded))
                seen.add(m.start())
    for v in kube.all_secret_values(data):
        if v.field != "data":
            continue
        decoded = decode_value(v.value)
        if decoded is None:
            continue
        start = data.find(v.value, _line_offset(data, v.line))
        if start in seen:
            continue
        span = (start, start + len(v.value)) if start >= 0 else (-1, -1)
        out.append(EncodedValue(v.line, span, decoded))
    return out
