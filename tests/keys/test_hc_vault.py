"""Vault transit keys against a tiny in-process fake transit server on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sopskit.errors import ConfigError, FormatError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys import key_from_record, key_from_spec
from sopskit.keys.base import KeyContext
from sopskit.keys.hc_vault import HcVaultKey, parse_uris

NOW = dt.datetime(2024, 6, 7, 8, 9, 10, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))
TOKEN = "s.test-token"


class FakeTransit:
    """Just enough of Vault's transit engine: encrypt/decrypt under known keys and a token."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.store: dict[str, bytes] = {}

    def handle(self, path: str, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append({"path": path, "token": headers.get("X-Vault-Token"),
                              "namespace": headers.get("X-Vault-Namespace"), "body": body})
        if headers.get("X-Vault-Token") != TOKEN:
            return 403, {"errors": ["permission denied"]}
        parts = path.removeprefix("/v1/").split("/")
        engine, operation, key = "/".join(parts[:-2]), parts[-2], parts[-1]
        if (engine, key) not in (("transit", "sops"), ("team/transit", "app")):
            return 400, {"errors": [f"encryption key not found: {key}"]}
        if operation == "encrypt":
            ciphertext = f"vault:v1:{len(self.store)}"
            self.store[ciphertext] = base64.b64decode(body["plaintext"])
            return 200, {"data": {"ciphertext": ciphertext, "key_version": 1}}
        if operation == "decrypt":
            if body["ciphertext"] not in self.store:
                return 400, {"errors": ["invalid ciphertext"]}
            return 200, {"data": {"plaintext": base64.b64encode(self.store[body["ciphertext"]]).decode()}}
        return 404, {"errors": []}


@pytest.fixture()
def vault() -> Iterator[tuple[str, FakeTransit]]:
    fake = FakeTransit()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            status, answer = fake.handle(self.path, self.headers, json.loads(self.rfile.read(length)))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()


def test_round_trip_and_record_fields(vault: tuple[str, FakeTransit]) -> None:
    address, fake = vault
    key = key_from_spec("hc_vault", f"{address}/v1/transit/keys/sops")
    context = KeyContext(env={"VAULT_TOKEN": TOKEN, "VAULT_NAMESPACE": "team-a"})
    record = key.encrypt(DATA_KEY, now=NOW, context=context)
    assert record.fields == {"vault_address": address, "engine_path": "transit", "key_name": "sops",
                             "created_at": "2024-06-07T08:09:10Z", "enc": "vault:v1:0"}
    assert fake.requests[0]["path"] == "/v1/transit/encrypt/sops"
    assert base64.b64decode(fake.requests[0]["body"]["plaintext"]) == DATA_KEY
    assert fake.requests[0]["namespace"] == "team-a"
    assert key_from_record(record).decrypt(record, context=context) == DATA_KEY
    assert fake.requests[1]["path"] == "/v1/transit/decrypt/sops"
    assert fake.requests[1]["body"] == {"ciphertext": "vault:v1:0"}


def test_nested_engine_path_and_token_file(vault: tuple[str, FakeTransit], tmp_path: Path) -> None:
    address, fake = vault
    (tmp_path / ".vault-token").write_text(TOKEN + "\n")
    key = HcVaultKey.from_uri(f"{address}/v1/team/transit/keys/app")
    assert (key.engine_path, key.key_name) == ("team/transit", "app")
    record = key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={"HOME": str(tmp_path)}))
    assert fake.requests[0]["token"] == TOKEN
    assert key.decrypt(record, context=KeyContext(env={"HOME": str(tmp_path)})) == DATA_KEY


def test_vault_errors_are_reported_without_token(vault: tuple[str, FakeTransit]) -> None:
    address, _ = vault
    key = HcVaultKey.from_uri(f"{address}/v1/transit/keys/sops")
    with pytest.raises(MasterKeyError) as caught:
        key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={"VAULT_TOKEN": "s.wrong-token"}))
    assert "HTTP 403" in str(caught.value) and "permission denied" in str(caught.value)
    assert "s.wrong-token" not in str(caught.value)
    missing = HcVaultKey.from_uri(f"{address}/v1/transit/keys/nope")
    with pytest.raises(MasterKeyError, match="encryption key not found"):
        missing.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={"VAULT_TOKEN": TOKEN}))


def test_unreachable_server(vault: tuple[str, FakeTransit]) -> None:
    key = HcVaultKey.from_uri("http://127.0.0.1:9/v1/transit/keys/sops")
    with pytest.raises(MasterKeyError, match="cannot reach"):
        key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={"VAULT_TOKEN": TOKEN}))


def test_allowlist(vault: tuple[str, FakeTransit]) -> None:
    address, fake = vault
    key = HcVaultKey.from_uri(f"{address}/v1/transit/keys/sops")
    for allow in ("none", "https://vault.example.com"):
        with pytest.raises(MasterKeyError, match="SOPS_HC_VAULT_ALLOWLIST"):
            key.encrypt(DATA_KEY, now=NOW, context=KeyContext(
                env={"VAULT_TOKEN": TOKEN, "SOPS_HC_VAULT_ALLOWLIST": allow}))
    assert fake.requests == []
    allowed = KeyContext(env={"VAULT_TOKEN": TOKEN, "SOPS_HC_VAULT_ALLOWLIST": f"https://x,{address}"})
    assert key.encrypt(DATA_KEY, now=NOW, context=allowed).enc == "vault:v1:0"


@pytest.mark.parametrize("uri", [
    "vault.example.com/v1/transit/keys/k",             # no scheme
    "https://vault.example.com/prefix/v1/transit/keys/k",  # prefixed
    "https://vault.example.com/v1/transit",            # too short
    "https://vault.example.com/transit/keys/k",        # no /v1
])
def test_bad_uris(uri: str) -> None:
    with pytest.raises(ConfigError):
        key_from_spec("hc_vault", uri)


def test_uri_list_and_string_form() -> None:
    keys = parse_uris("https://v.example.com:8200/v1/transit/keys/a, https://w.example.com/v1/kv/t/keys/b")
    assert [(k.vault_address, k.engine_path, k.key_name) for k in keys] == [
        ("https://v.example.com:8200", "transit", "a"), ("https://w.example.com", "kv/t", "b")]
    assert keys[0].to_string() == "https://v.example.com:8200/v1/transit/keys/a"
    with pytest.raises(FormatError):
        key_from_record(KeyRecord("hc_vault", {"vault_address": "", "engine_path": "t", "key_name": "k"}))
