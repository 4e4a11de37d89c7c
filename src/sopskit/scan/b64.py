"""Base64-wrapped secrets: values whose decoded text is what a provider rule recognises.

Kubernetes stores Secret ``data`` base64-encoded and kubeconfig files carry client keys as
``client-key-data``, so a private key or token committed there never shows its own shape.
Two places are decoded, both cheap to find: any base64 run that starts like an encoded PEM
armour line (``LS0tLS`` is ``----``), and each ``data`` value of a Secret manifest (YAML or
JSON). Decoding is bounded (96 KiB encoded per value) and only printable results are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from sopskit.detectors.encoded import decode_value, pem_runs
from sopskit.scan import kube

__all__ = ["EncodedValue", "decode_value", "encoded_values"]


@dataclass(frozen=True)
class EncodedValue:
    """A base64 value in the content: its 1-based line, byte span and decoded bytes."""

    line: int
    span: tuple[int, int]
    decoded: bytes


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
    for start, end, pem in pem_runs(data):
        out.append(EncodedValue(data.count(b"\n", 0, start) + 1, (start, end), pem))
        seen.add(start)
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
