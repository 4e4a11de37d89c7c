"""HashiCorp Vault transit master keys, over plain HTTP(S) with the standard library.

A key is ``https://host:port/v1/<engine path>/keys/<key name>`` (the engine path may have
several segments; a prefix before ``/v1/`` is rejected, as in sops). Wrapping posts
``{"plaintext": base64(data key)}`` to ``<engine>/encrypt/<key>`` and stores the returned
``ciphertext`` (``vault:v1:…``); unwrapping posts ``{"ciphertext": enc}`` to
``<engine>/decrypt/<key>``. The record holds ``vault_address``, ``engine_path``,
``key_name``, ``created_at`` and ``enc``.

Token: ``VAULT_TOKEN``, else ``~/.vault-token``; ``VAULT_NAMESPACE`` is sent when set.
``SOPS_HC_VAULT_ALLOWLIST`` (sops 3.13): ``all`` (default, also when empty), ``none`` or a
comma list of URL prefixes that may be contacted, matched as sops does (see
:func:`allowlist_allows`). The ``vault`` extra is not needed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, quote_key_input, split_key_list, timestamp_of

_PREFIXED = re.compile(r"/[^/]+/v\d+/[^/]+/[^/]+/[^/]+")
_WELL_FORMED = re.compile(r"/v\d+/[^/]+/[^/]+/[^/]+")
_TIMEOUT_SECONDS = 30


def allowlist_allows(allowlist: str, address: str) -> bool:
    """``SOPS_HC_VAULT_ALLOWLIST`` as sops 3.13 reads it (hcvault/keysource.go).

    ``all`` or empty allows everything, ``none`` nothing; otherwise each comma-separated
    entry (spaces trimmed) gets a trailing ``/`` and the address (also with a trailing
    ``/``) must start with one of them, so ``https://vault.example.com`` does not admit
    ``https://vault.example.com.evil.net``. An empty entry is a configuration error.
    """
    if allowlist in ("", "all"):
        return True
    if allowlist == "none":
        return False
    entries = []
    for index, entry in enumerate(allowlist.split(","), start=1):
        entry = entry.strip(" ")
        if not entry:
            raise ConfigError(f"SOPS_HC_VAULT_ALLOWLIST's entry {index} is empty")
        entries.append(entry if entry.endswith("/") else entry + "/")
    address = address if address.endswith("/") else address + "/"
    return any(address.startswith(entry) for entry in entries)


class HcVaultKey:
    """One Vault transit key."""

    key_type: ClassVar[str] = "hc_vault"

    def __init__(self, vault_address: str, engine_path: str, key_name: str) -> None:
        self.vault_address = vault_address.strip().rstrip("/")
        self.engine_path = engine_path.strip().strip("/")
        self.key_name = key_name.strip()
        if not self.vault_address or not self.engine_path or not self.key_name:
            raise ConfigError("hc_vault: a key needs an address, an engine path and a key name")

    def __repr__(self) -> str:
        return f"HcVaultKey({self.to_string()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HcVaultKey) and other.to_string() == self.to_string()

    def __hash__(self) -> int:
        return hash(("hc_vault", self.to_string()))

    @classmethod
    def from_uri(cls, uri: str) -> HcVaultKey:
        """``https://vault.example.com:8200/v1/transit/keys/name``."""
        uri = uri.strip()
        parts = urlsplit(uri)
        if not parts.scheme:
            raise ConfigError(f"hc_vault: missing scheme in {quote_key_input(uri)} "
                              "(expected https://vault.example.com:8200/v1/transit/keys/name)")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if _PREFIXED.match(path):
            raise ConfigError(f"hc_vault: {quote_key_input(uri)}: Vault behind a URL prefix is not supported")
        if not _WELL_FORMED.match(path):
            raise ConfigError(f"hc_vault: {quote_key_input(uri)} is not of the form "
                              "https://vault.example.com:8200/v1/<engine>/keys/<name>")
        segments = path.strip("/").split("/")
        return cls(f"{parts.scheme}://{parts.netloc}", "/".join(segments[1:-2]), segments[-1])

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> HcVaultKey:
        if isinstance(spec, Mapping):
            return cls(str(spec.get("vault_address") or ""), str(spec.get("engine_path") or ""),
                       str(spec.get("key_name") or ""))
        return cls.from_uri(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> HcVaultKey:
        f = record.fields
        return cls(str(f.get("vault_address") or ""), str(f.get("engine_path") or ""),
                   str(f.get("key_name") or ""))

    def to_string(self) -> str:
        return f"{self.vault_address}/v1/{self.engine_path}/keys/{self.key_name}"

    def to_record(self, enc: str, created_at: str) -> KeyRecord:
        return KeyRecord("hc_vault", {
            "vault_address": self.vault_address, "engine_path": self.engine_path,
            "key_name": self.key_name, "created_at": created_at, "enc": enc,
        })

    # -- HTTP ---------------------------------------------------------------------------------

    def _check_allowed(self, env: Mapping[str, str]) -> None:
        if not allowlist_allows(env.get("SOPS_HC_VAULT_ALLOWLIST", ""), self.vault_address):
            raise MasterKeyError(
                f"hc_vault: {self.vault_address} is not allowed by SOPS_HC_VAULT_ALLOWLIST"
            )

    def _post(self, operation: str, payload: Mapping[str, str], context: KeyContext) -> dict[str, Any]:
        self._check_allowed(context.env)
        url = f"{self.vault_address}/v1/{self.engine_path}/{operation}/{self.key_name}"
        headers = {"Content-Type": "application/json"}
        token = _token(context.env)
        if token:
            headers["X-Vault-Token"] = token
        namespace = context.env.get("VAULT_NAMESPACE")
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise MasterKeyError(
                f"hc_vault: {operation} with {self.to_string()} failed: HTTP {exc.code}{_vault_errors(exc)}"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MasterKeyError(f"hc_vault: cannot reach {self.vault_address}: {reason}") from exc
        except json.JSONDecodeError as exc:
            raise MasterKeyError(
                f"hc_vault: {operation} answer from {self.vault_address} is not JSON"
            ) from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise MasterKeyError(f"hc_vault: the transit backend {self.engine_path} returned no data")
        return data

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        data = self._post("encrypt", {"plaintext": base64.b64encode(data_key).decode()}, context)
        ciphertext = data.get("ciphertext")
        if not isinstance(ciphertext, str):
            raise MasterKeyError(f"hc_vault: no ciphertext returned by {self.to_string()}")
        return self.to_record(ciphertext, timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        data = self._post("decrypt", {"ciphertext": record.enc}, context)
        plaintext = data.get("plaintext")
        if not isinstance(plaintext, str):
            raise MasterKeyError(f"hc_vault: no plaintext returned by {self.to_string()}")
        try:
            return base64.b64decode(plaintext, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MasterKeyError(
                f"hc_vault: {self.to_string()} returned a plaintext that is not base64"
            ) from exc


def _token(env: Mapping[str, str]) -> str:
    token = env.get("VAULT_TOKEN", "").strip()
    if token:
        return token
    home = env.get("HOME")
    if home:
        try:
            return (Path(home) / ".vault-token").read_text().strip()
        except OSError:
            return ""
    return ""


def _vault_errors(exc: urllib.error.HTTPError) -> str:
    """Vault's ``errors`` list (messages about paths and permissions, never key material)."""
    try:
        errors = json.loads(exc.read() or b"{}").get("errors") or []
    except (ValueError, AttributeError, OSError):
        return ""
    return (": " + "; ".join(str(e) for e in errors))[:300] if errors else ""


def parse_uris(text: str) -> list[HcVaultKey]:
    """``--hc-vault-transit`` / ``SOPS_VAULT_URIS`` / rule-level ``hc_vault_transit_uri``."""
    return [HcVaultKey.from_uri(item) for item in split_key_list(text)]
