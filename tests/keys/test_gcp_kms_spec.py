"""The fake Cloud KMS checked against the service's published API description.

The description is read at test time from the installed ``google-cloud-kms`` package: the REST
routes are its transport's ``http_options`` (generated from the ``google.api.http`` annotations
of ``google/cloud/kms/v1/service.proto``), the bodies are the proto messages
``EncryptRequest``/``EncryptResponse``/``DecryptRequest``/``DecryptResponse`` with their JSON
names and types (proto3 JSON: bytes as base64 strings, int64 and Int64Value as decimal strings,
enums as names). Every exchange of an encrypt/decrypt session, errors included, is checked:
an unknown property, a wrong JSON type or a route the annotations do not have fails the test.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from testing.gcp_kms_server import ENCRYPT, FakeCloudKms, GcpPrincipal, crc32c
from tests.keys.test_gcp_kms import KEY, gcp_kms, gcp_tls  # noqa: F401 - fixtures

_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _routes() -> dict[str, tuple[str, str]]:
    from google.cloud.kms_v1.services.key_management_service.transports import rest_base

    base = rest_base._BaseKeyManagementServiceRestTransport
    out = {}
    for operation, cls in (("encrypt", base._BaseEncrypt), ("decrypt", base._BaseDecrypt)):
        [option] = cls._get_http_options()
        out[operation] = (option["method"].upper(), option["uri"])
    return out


def _route_regex(uri: str) -> re.Pattern[str]:
    """``/v1/{name=projects/*/.../cryptoKeys/**}:encrypt`` as a regex (``*`` one segment, ``**`` any)."""
    template = re.sub(r"\{name=([^}]*)\}", lambda m: m.group(1), uri)
    pattern = "".join("[^/:]+" if part == "*" else ".+" if part == "**" else re.escape(part)
                      for part in re.split(r"(\*\*|\*)", template))
    return re.compile("^" + pattern + "$")


def _fields(message: Any) -> dict[str, Any]:
    return {f.json_name: f for f in message.pb().DESCRIPTOR.fields}


def validate(value: Any, message: Any) -> list[str]:
    """Problems of a JSON body against a proto message under proto3 JSON mapping."""
    from google.protobuf.descriptor import FieldDescriptor as F

    if not isinstance(value, dict):
        return ["not an object"]
    fields = _fields(message)
    problems = []
    for name, item in value.items():
        field = fields.get(name)
        if field is None:
            problems.append(f"{name}: not a field of {message.__name__}")
            continue
        wrapper = field.message_type.full_name if field.message_type else ""
        if field.type == F.TYPE_BYTES:
            ok = isinstance(item, str) and bool(_B64.match(item))
        elif field.type == F.TYPE_STRING:
            ok = isinstance(item, str)
        elif field.type == F.TYPE_BOOL:
            ok = isinstance(item, bool)
        elif field.type == F.TYPE_ENUM:
            ok = isinstance(item, str) and item in field.enum_type.values_by_name
        elif field.type in (F.TYPE_INT64, F.TYPE_UINT64) or wrapper == "google.protobuf.Int64Value":
            ok = isinstance(item, str) and item.isdigit()
        else:
            ok = False
        if not ok:
            problems.append(f"{name}: wrong JSON type for proto type {field.type} {wrapper}")
    return problems


def _status_problems(body: Any, code: int) -> list[str]:
    """The JSON error envelope: ``{"error": {code, message, status}}`` (google.rpc.Status)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(error) - {"code", "message", "status", "details"}:
        return ["not a google.rpc.Status envelope"]
    if error.get("code") != code or not isinstance(error.get("message"), str):
        return ["code/message"]
    from google.rpc import code_pb2

    names = set(code_pb2.Code.keys())
    return [] if error.get("status") in names else ["status is not a google.rpc.Code name"]


def test_validator_rejects_what_the_description_does_not_allow() -> None:
    from google.cloud import kms_v1

    assert validate({"name": KEY, "plaintext": "AQID"}, kms_v1.EncryptRequest) == []
    assert validate({"name": KEY, "plain_text": "AQID"}, kms_v1.EncryptRequest)
    assert validate({"ciphertextCrc32c": 5}, kms_v1.EncryptResponse)  # int64 must be a string
    assert validate({"protectionLevel": "PLASTIC"}, kms_v1.EncryptResponse)
    assert _status_problems({"error": {"code": 403, "message": "x", "status": "DENIED"}}, 403)
    assert not _route_regex(_routes()["decrypt"][1]).match(f"/v1/{KEY}/cryptoKeyVersions/1:decrypt")
    assert _route_regex(_routes()["encrypt"][1]).match(f"/v1/{KEY}/cryptoKeyVersions/1:encrypt")


def test_every_exchange_matches_the_published_description(
        gcp_kms: FakeCloudKms, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811 - fixture
    from google.api_core import exceptions
    from google.cloud import kms_v1
    from google.oauth2.credentials import Credentials

    gcp_kms.capture_bodies = True
    token = gcp_kms.grant(GcpPrincipal("ops"))

    def client(tok: str) -> Any:
        return kms_v1.KeyManagementServiceClient(
            credentials=Credentials(tok), transport="rest", client_options={"api_endpoint": gcp_kms.endpoint})

    ops = client(token)
    aad = b"sops-context"
    sealed = ops.encrypt(request={"name": KEY, "plaintext": b"k" * 32, "additional_authenticated_data": aad,
                                  "plaintext_crc32c": crc32c(b"k" * 32)})
    assert sealed.ciphertext_crc32c == crc32c(sealed.ciphertext) and sealed.verified_plaintext_crc32c
    opened = ops.decrypt(request={"name": KEY, "ciphertext": sealed.ciphertext, "additional_authenticated_data": aad})
    assert opened.plaintext == b"k" * 32 and opened.used_primary
    with pytest.raises(exceptions.BadRequest):  # the AAD is bound to the ciphertext
        ops.decrypt(request={"name": KEY, "ciphertext": sealed.ciphertext})
    with pytest.raises(exceptions.Forbidden):
        client(gcp_kms.grant(GcpPrincipal("writer", frozenset({ENCRYPT})))).decrypt(
            request={"name": KEY, "ciphertext": sealed.ciphertext})
    with pytest.raises(exceptions.NotFound):
        ops.encrypt(request={"name": KEY.replace("sops", "gone"), "plaintext": b"x"})

    routes = {op: (method, _route_regex(uri)) for op, (method, uri) in _routes().items()}
    messages = {"encrypt": (kms_v1.EncryptRequest, kms_v1.EncryptResponse),
                "decrypt": (kms_v1.DecryptRequest, kms_v1.DecryptResponse)}
    seen = set()
    for record in gcp_kms.requests:
        method, regex = routes[record.operation or ""]
        assert record.method == method and regex.match(record.path), record.path
        request_message, response_message = messages[record.operation or ""]
        assert validate(record.request_json, request_message) == []
        if record.status == 200:
            assert validate(record.response_json, response_message) == []
        else:
            assert _status_problems(record.response_json, record.status) == []
        seen.add((record.operation, record.status))
    assert seen == {("encrypt", 200), ("decrypt", 200), ("decrypt", 400), ("decrypt", 403), ("encrypt", 404)}
    # the ciphertext the client returned is what the fake sent, byte for byte
    first = gcp_kms.requests[0].response_json
    assert base64.b64decode(first["ciphertext"]) == sealed.ciphertext
