"""The fake Key Vault checked against the service's published API description.

The subset below is transcribed by hand from Azure/azure-rest-api-specs,
``specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.4/keys.json`` (paths and the
definitions ``KeyOperationsParameters``, ``KeyOperationResult``, ``KeyBundle``, ``JsonWebKey``,
``KeyAttributes``, ``KeyItem``, ``KeyListResult``) and ``.../7.4/common.json``
(``KeyVaultError``, ``Error``, ``Attributes``): property names, types, ``required`` lists and
the algorithm enum, nothing else. Every request the unmodified SDK sends while driving the
operations sopskit uses, and every body the fake answers, is validated against it: a route the
description does not have, a property it does not declare, a missing required property or a
wrong type fails the test.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from testing.azure_kv_server import FakeCredential, FakeKeyVault, Principal
from tests.keys.test_azure_kv import azure_tls, azure_vault  # noqa: F401 - fixtures

#: a vault host of its own: the SDK caches challenges per host for the whole process, and this
#: test must see the challenge whatever ran before it
VAULT = "https://sopskit-spec.vault.azure.net"

# -- keys.json 7.4 (subset) -------------------------------------------------------------------

PATHS = {  # path template -> methods (keys.json "paths")
    "/keys/{key-name}/{key-version}": {"get", "patch"},
    "/keys/{key-name}/versions": {"get"},
    "/keys/{key-name}/{key-version}/encrypt": {"post"},
    "/keys/{key-name}/{key-version}/decrypt": {"post"},
    "/keys/{key-name}/{key-version}/wrapkey": {"post"},
    "/keys/{key-name}/{key-version}/unwrapkey": {"post"},
}
ALGORITHMS = ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A128GCM", "A192GCM", "A256GCM", "A128KW",
              "A192KW", "A256KW", "A128CBC", "A192CBC", "A256CBC", "A128CBCPAD", "A192CBCPAD",
              "A256CBCPAD"]
B64URL = {"type": "string", "format": "base64url"}
DEFINITIONS: dict[str, dict[str, Any]] = {
    "KeyOperationsParameters": {
        "properties": {"alg": {"type": "string", "enum": ALGORITHMS}, "value": B64URL, "iv": B64URL,
                       "aad": B64URL, "tag": B64URL},
        "required": ["alg", "value"],
    },
    "KeyOperationResult": {
        "properties": {"kid": {"type": "string"}, "value": B64URL, "iv": B64URL, "tag": B64URL,
                       "aad": B64URL},
    },
    "JsonWebKey": {
        "properties": {
            "kid": {"type": "string"}, "kty": {"type": "string"},
            "key_ops": {"type": "array", "items": {"type": "string"}},
            **{name: B64URL for name in ("n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "x", "y")},
            "crv": {"type": "string"},
        },
    },
    "Attributes": {  # common.json; KeyAttributes adds the next three via allOf
        "properties": {"enabled": {"type": "boolean"}, "nbf": {"type": "integer"}, "exp": {"type": "integer"},
                       "created": {"type": "integer"}, "updated": {"type": "integer"},
                       "recoverableDays": {"type": "integer"}, "recoveryLevel": {"type": "string"},
                       "exportable": {"type": "boolean"}},
    },
    "KeyBundle": {
        "properties": {"key": {"$ref": "JsonWebKey"}, "attributes": {"$ref": "Attributes"},
                       "tags": {"type": "object"}, "managed": {"type": "boolean"},
                       "release_policy": {"type": "object"}},
    },
    "KeyItem": {
        "properties": {"kid": {"type": "string"}, "attributes": {"$ref": "Attributes"},
                       "tags": {"type": "object"}, "managed": {"type": "boolean"}},
    },
    "KeyListResult": {
        "properties": {"value": {"type": "array", "items": {"$ref": "KeyItem"}},
                       "nextLink": {"type": "string", "x-nullable": True}},
    },
    "KeyVaultError": {"properties": {"error": {"$ref": "Error"}}},
    "Error": {
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "innererror": {"$ref": "Error"}},
    },
}
RESPONSES = {  # operation -> 200 schema; every path's "default" response is KeyVaultError
    "get": "KeyBundle", "list": "KeyListResult", "encrypt": "KeyOperationResult",
    "decrypt": "KeyOperationResult", "wrapkey": "KeyOperationResult", "unwrapkey": "KeyOperationResult",
}
_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}


def validate(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Problems of ``value`` against a schema of the subset above (empty list: valid)."""
    if "$ref" in schema:
        return validate(value, DEFINITIONS[schema["$ref"]], where)
    if "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        problems = [f"{where}: missing required {name!r}" for name in schema.get("required", [])
                    if name not in value]
        for name, item in value.items():
            if name not in schema["properties"]:
                problems.append(f"{where}: property {name!r} is not in the description")
            else:
                problems += validate(item, schema["properties"][name], f"{where}.{name}")
        return problems
    if value is None and schema.get("x-nullable"):
        return []
    expected = _TYPES[schema["type"]]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return [f"{where}: expected {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of the enum"]
    if schema.get("format") == "base64url" and not re.fullmatch(r"[A-Za-z0-9_-]*", value):
        return [f"{where}: not unpadded base64url"]
    if schema["type"] == "array":
        return [p for i, v in enumerate(value) for p in validate(v, schema["items"], f"{where}[{i}]")]
    return []


def template_of(method: str, path: str) -> str:
    """The keys.json path template a request path instantiates (AssertionError if none)."""
    for template, methods in PATHS.items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in methods:
            return template
    raise AssertionError(f"{method} {path} is not a path of keys.json")


def test_validator_rejects_what_the_description_does_not_allow() -> None:
    assert validate({"alg": "RSA-OAEP-256", "value": "AQAB"}, {"$ref": "KeyOperationsParameters"}) == []
    assert validate({"alg": "RSA-OAEP-256"}, {"$ref": "KeyOperationsParameters"})
    assert validate({"alg": "RSA-OAEP-257", "value": "AQAB"}, {"$ref": "KeyOperationsParameters"})
    assert validate({"alg": "RSA-OAEP", "value": "AQ=="}, {"$ref": "KeyOperationsParameters"})
    assert validate({"kid": "x", "result": "AQAB"}, {"$ref": "KeyOperationResult"})
    assert validate({"error": {"code": 403}}, {"$ref": "KeyVaultError"})
    with pytest.raises(AssertionError):
        template_of("POST", "/keys/sops/v1/sign")


def test_every_exchange_matches_keys_json(
        azure_vault: FakeKeyVault, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811 - fixture
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm

    azure_vault.capture_bodies = True
    credential = FakeCredential()
    v1 = azure_vault.latest("sops")
    v2 = azure_vault.rotate("sops")
    keys = KeyClient(VAULT, credential)
    assert keys.get_key("sops").properties.version == v2
    assert keys.get_key("sops", v1).properties.version == v1
    assert sorted(p.version for p in keys.list_properties_of_key_versions("sops")) == sorted([v1, v2])
    # remote operations: a principal without "get" cannot make the SDK encrypt locally
    monkeypatch.setattr(FakeCredential, "token", azure_vault.grant(
        Principal("ops", frozenset({"encrypt", "decrypt", "wrapKey", "unwrapKey"}))))
    crypto = CryptographyClient(f"{VAULT}/keys/sops/{v1}", FakeCredential())
    data_key = bytes(range(32))
    for alg in (EncryptionAlgorithm.rsa_oaep_256, EncryptionAlgorithm.rsa_oaep):
        sealed = crypto.encrypt(alg, data_key)
        assert crypto.decrypt(alg, sealed.ciphertext).plaintext == data_key
    wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, data_key)
    assert crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key).key == data_key
    with pytest.raises(HttpResponseError) as forbidden:
        KeyClient(VAULT, FakeCredential()).get_key("sops")
    assert forbidden.value.status_code == 403
    with pytest.raises(ResourceNotFoundError):
        CryptographyClient(f"{VAULT}/keys/gone/{v1}", FakeCredential()).decrypt(
            EncryptionAlgorithm.rsa_oaep_256, sealed.ciphertext)

    seen: set[tuple[str, int]] = set()
    for record in azure_vault.requests:
        template_of(record.method, record.path)
        assert record.query.get("api-version"), record.path
        if record.method == "POST" and record.request_json is not None:
            assert validate(record.request_json, {"$ref": "KeyOperationsParameters"}) == []
            assert record.request_json["alg"] in {"RSA-OAEP-256", "RSA-OAEP"}
        schema = RESPONSES[record.operation or ""] if record.status == 200 else "KeyVaultError"
        assert validate(record.response_json, {"$ref": schema}) == [], (record.method, record.path)
        seen.add((record.operation or "challenge", record.status))
    # everything sopskit relies on was exercised, errors included
    assert {("get", 200), ("list", 200), ("encrypt", 200), ("decrypt", 200), ("wrapkey", 200),
            ("unwrapkey", 200), ("get", 403), ("decrypt", 404), ("challenge", 401)} <= seen
    # the JWK the fake serves is the real public key: n and e are big-endian base64url integers
    bundle = next(r.response_json for r in azure_vault.requests if r.operation == "get" and r.status == 200)
    n = int.from_bytes(base64.urlsafe_b64decode(bundle["key"]["n"] + "=="), "big")
    assert n.bit_length() == 2048 and bundle["key"]["kty"] == "RSA"
