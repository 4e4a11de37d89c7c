"""Decoding the protobuf bodies kubectl sends for typed creates."""

from __future__ import annotations

import base64
from typing import Any

from testing.k8s_server.errors import _bad_request
from testing.k8s_server.kinds import _SECRETS, _Kind

PROTOBUF = "application/vnd.kubernetes.protobuf"
_PROTO_MAGIC = b"k8s\x00"


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Split one protobuf message into (field number, value): varints as int, the rest as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 2:
            length = varint()
            out.append((number, buf[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((number, buf[pos : pos + size]))
            pos += size
        else:
            raise _bad_request("unsupported protobuf wire type")
    return out


def _proto_map(entries: list[bytes], *, as_bytes: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        fields = dict(_proto_fields(entry))
        key, value = fields.get(1, b""), fields.get(2, b"")
        assert isinstance(key, bytes) and isinstance(value, bytes)
        result[key.decode()] = base64.b64encode(value).decode() if as_bytes else value.decode()
    return result


def _proto_group(buf: bytes) -> dict[int, list[int | bytes]]:
    grouped: dict[int, list[int | bytes]] = {}
    for number, value in _proto_fields(buf):
        grouped.setdefault(number, []).append(value)
    return grouped


def _text(values: list[int | bytes] | None) -> str | None:
    """The last string value; gogo-protobuf writes unset strings as "", which JSON would omit."""
    return values[-1].decode() or None if values and isinstance(values[-1], bytes) else None


def _proto_object_meta(buf: bytes) -> dict[str, Any]:
    """ObjectMeta (k8s.io/apimachinery generated.proto): the fields a client sets on create."""
    f = _proto_group(buf)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace"), (6, "resourceVersion")):
        if (text := _text(f.get(number))) is not None:
            meta[key] = text
    if 11 in f:
        meta["labels"] = _proto_map([v for v in f[11] if isinstance(v, bytes)])
    if 12 in f:
        meta["annotations"] = _proto_map([v for v in f[12] if isinstance(v, bytes)])
    if 14 in f:
        meta["finalizers"] = [v.decode() for v in f[14] if isinstance(v, bytes)]
    return meta


def decode_protobuf(body: bytes, kind: _Kind) -> dict[str, Any]:
    """Decode a ``k8s\\0`` + runtime.Unknown envelope holding a v1 Secret or Namespace.

    kubectl 1.32 sends typed ``create`` requests (``kubectl create secret generic``,
    ``kubectl create namespace``) as protobuf whatever discovery says, and the real API server
    accepts them, so the fake must too. Field numbers are those of k8s.io/api/core/v1/generated.proto.
    """
    if not body.startswith(_PROTO_MAGIC):
        raise _bad_request("provided protobuf is not a Kubernetes object (missing the k8s magic prefix)")
    envelope = _proto_group(body[len(_PROTO_MAGIC) :])
    type_meta = _proto_group(envelope[1][-1]) if 1 in envelope and isinstance(envelope[1][-1], bytes) else {}
    if _text(type_meta.get(2)) not in (None, kind.kind):
        raise _bad_request(f'{kind.kind} in version "v1" cannot be handled as a {kind.kind}')
    raw = envelope.get(2, [b""])[-1]
    assert isinstance(raw, bytes)
    f = _proto_group(raw)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind.kind}
    if 1 in f and isinstance(f[1][-1], bytes):
        obj["metadata"] = _proto_object_meta(f[1][-1])
    if kind is _SECRETS:
        if 2 in f:
            obj["data"] = _proto_map([v for v in f[2] if isinstance(v, bytes)], as_bytes=True)
        if (secret_type := _text(f.get(3))) is not None:
            obj["type"] = secret_type
        if 4 in f:
            obj["stringData"] = _proto_map([v for v in f[4] if isinstance(v, bytes)])
        if 5 in f:
            obj["immutable"] = bool(f[5][-1])
    elif 2 in f and isinstance(f[2][-1], bytes):
        spec = _proto_group(f[2][-1])
        obj["spec"] = {"finalizers": [v.decode() for v in spec.get(1, []) if isinstance(v, bytes)]}
    return obj


def decode_access_review(body: bytes) -> dict[str, Any]:
    """Decode a ``SelfSubjectAccessReview`` sent as protobuf (``kubectl auth can-i`` does): only
    ``spec.resourceAttributes`` (k8s.io/api/authorization/v1/generated.proto field numbers)."""
    if not body.startswith(_PROTO_MAGIC):
        raise _bad_request("provided protobuf is not a Kubernetes object (missing the k8s magic prefix)")
    envelope = _proto_group(body[len(_PROTO_MAGIC) :])
    raw = envelope.get(2, [b""])[-1]
    assert isinstance(raw, bytes)
    spec_raw = _proto_group(raw).get(2, [b""])[-1]
    assert isinstance(spec_raw, bytes)
    spec = _proto_group(spec_raw)
    if 1 not in spec or not isinstance(spec[1][-1], bytes):
        return {"spec": {}}
    attrs = _proto_group(spec[1][-1])
    names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
    resource_attributes = {key: _text(attrs.get(n)) for n, key in names.items() if _text(attrs.get(n)) is not None}
    return {"spec": {"resourceAttributes": resource_attributes}}
