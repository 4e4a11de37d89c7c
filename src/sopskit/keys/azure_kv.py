"""Azure Key Vault master keys (the ``azure`` extra: azure-identity, azure-keyvault-keys).

A key is ``https://<vault>/keys/<name>[/<version>]`` on the command line or
``{vaultUrl, key, version}`` in a ``.sops.yaml`` key group; an empty version is resolved to
the key's current version when wrapping, and that version is stored. The data key is wrapped
with RSA-OAEP-256; ``enc`` is **URL-safe base64 without padding**. The record holds
``vault_url``, ``name``, ``version``, ``created_at`` and ``enc``. Credentials: the azidentity
default chain (``DefaultAzureCredential``), built once per process (:func:`shared_credential`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sopskit.errors import ConfigError, FormatError, MasterKeyError, MissingExtraError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, quote_key_input, split_key_list, timestamp_of

_QUIET = logging.NullHandler()
_CREDENTIALS: dict[tuple[Any, str], Any] = {}
_CREDENTIALS_LOCK = threading.Lock()


def shared_credential(credential_cls: Any) -> Any:
    """One credential object per process and Azure environment, built on first use.

    Azure credentials cache their tokens, so sharing one across files (and across the threads
    of a many-file run) costs one Azure AD round trip, or one managed-identity call, per run
    instead of one per file. The environment is part of the cache key (as a digest, so no copy
    of a client secret is kept) because the credential chain reads it when built.
    """
    env = "\0".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                    if k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")))
    key = (credential_cls, hashlib.sha256(env.encode()).hexdigest())
    with _CREDENTIALS_LOCK:
        credential = _CREDENTIALS.get(key)
        if credential is None:
            credential = _CREDENTIALS[key] = _serialised(credential_cls())
        return credential


class _OneAtATime:
    """A credential whose token requests are serialised.

    The many-file commands unwrap on a thread pool; Azure credentials cache their token but do
    not hold other threads back while the first request is in flight, so every thread of a
    fresh run would ask Azure AD (or the managed-identity endpoint) at once. With the lock, the
    first thread fetches the token and the others get it from the credential's cache.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._inner.get_token(*scopes, **kwargs)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


class _OneAtATimeInfo(_OneAtATime):
    """The same, for credentials that also offer azure-core's ``get_token_info``."""

    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._inner.get_token_info(*scopes, **kwargs)


def _serialised(credential: Any) -> Any:
    return (_OneAtATimeInfo if hasattr(credential, "get_token_info") else _OneAtATime)(credential)


def encode_ciphertext(blob: bytes) -> str:
    """base64 RawURL encoding, as sops stores Azure ciphertexts."""
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decode_ciphertext(text: str) -> bytes:
    """Inverse of :func:`encode_ciphertext`; padded input is accepted too."""
    stripped = text.strip().rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise FormatError("azure_kv: the encrypted data key is not URL-safe base64") from exc


class AzureKvKey:
    """One Azure Key Vault key, optionally pinned to a version."""

    key_type: ClassVar[str] = "azure_kv"

    def __init__(self, vault_url: str, name: str, version: str = "") -> None:
        self.vault_url = vault_url.strip().rstrip("/")
        self.name = name.strip()
        self.version = version.strip()
        if not self.vault_url.startswith(("https://", "http://")) or not self.name:
            raise ConfigError(f"azure_kv: {quote_key_input(self.to_string())} is not a Key Vault key")

    def __repr__(self) -> str:
        return f"AzureKvKey({self.vault_url!r}, {self.name!r}, {self.version!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AzureKvKey) and (
            (other.vault_url, other.name, other.version) == (self.vault_url, self.name, self.version)
        )

    def __hash__(self) -> int:
        return hash(("azure_kv", self.vault_url, self.name, self.version))

    @classmethod
    def from_url(cls, url: str) -> AzureKvKey:
        """``https://<vault>/keys/<name>[/<version>]``."""
        parts = urlsplit(url.strip())
        segments = [s for s in parts.path.split("/") if s]
        if not parts.scheme or not parts.netloc or len(segments) not in (2, 3) or segments[0] != "keys":
            raise ConfigError(f"azure_kv: {quote_key_input(url)} is not of the form https://<vault>/keys/<name>[/<version>]")
        version = segments[2] if len(segments) == 3 else ""
        return cls(f"{parts.scheme}://{parts.netloc}", segments[1], version)

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> AzureKvKey:
        if isinstance(spec, Mapping):
            return cls(str(spec.get("vaultUrl") or ""), str(spec.get("key") or ""),
                       str(spec.get("version") or ""))
        return cls.from_url(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> AzureKvKey:
        f = record.fields
        return cls(str(f.get("vault_url") or ""), str(f.get("name") or ""), str(f.get("version") or ""))

    def to_string(self) -> str:
        return f"{self.vault_url}/keys/{self.name}/{self.version}"

    def to_record(self, enc: str, created_at: str) -> KeyRecord:
        return KeyRecord("azure_kv", {
            "vault_url": self.vault_url, "name": self.name, "version": self.version,
            "created_at": created_at, "enc": enc,
        })

    # -- Azure --------------------------------------------------------------------------------

    def _sdk(self) -> tuple[Any, Any, Any, Any]:
        # the SDK logs credential failures as warnings; without a handler Python's last-resort
        # handler would print them to stderr, next to our own report of the same failure
        logging.getLogger("azure").addHandler(_QUIET)
        try:
            from azure.identity import DefaultAzureCredential
            from azure.keyvault.keys import KeyClient
            from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm
        except ImportError:
            raise MissingExtraError("Azure Key Vault", "azure") from None
        return DefaultAzureCredential, KeyClient, CryptographyClient, EncryptionAlgorithm

    def _guard(self, what: str, call: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # azure.core raises many types; translate them all here
            raise MasterKeyError(
                f"azure_kv: {what} with {self.to_string()} failed: {self._reason(exc)}"
            ) from exc

    def _reason(self, exc: Exception) -> str:
        """What went wrong, said plainly: the SDK type, and for a service answer its HTTP status
        and Key Vault error code (``Forbidden``, ``KeyNotFound``...). The service's message can
        name principals and vaults but never key material; it is left out all the same."""
        name = type(exc).__name__
        if name == "ClientAuthenticationError" and getattr(exc, "status_code", None) is None:
            # raised by the credential: DefaultAzureCredential lists what each source answered
            tried = [line.strip() for line in str(getattr(exc, "message", "") or exc).splitlines()
                     if line.startswith("\t") and ":" in line]
            detail = "; ".join(tried) if tried else "az login, or AZURE_* environment variables"
            return f"{name}: no usable Azure credentials ({detail})"
        if name == "ServiceRequestError":
            return f"{name}: cannot reach {self.vault_url}"
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            error = getattr(exc, "error", None)
            code = str(getattr(error, "code", "") or "")
            inner = getattr(getattr(error, "innererror", None), "get", lambda _k: None)("code")
            detail = f"{status} {code}".strip() + (f" ({inner})" if inner else "")
            return f"{name}: {detail}"
        return name

    @staticmethod
    def _client(context: KeyContext, crypto_cls: Any, key_id: str, credential: Any) -> Any:
        """One ``CryptographyClient`` per key version and credential for the whole run: its
        first operation fetches the key (to try local cryptography, which an RSA public key
        cannot do for a decrypt), so a client per file cost three requests a file instead of
        one (docs/cloud-keys.md)."""
        return context.service_client(("azure_kv", key_id, id(credential)), lambda: crypto_cls(key_id, credential))

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        credential_cls, key_client_cls, crypto_cls, algorithm = self._sdk()
        credential = self._guard("loading credentials", lambda: shared_credential(credential_cls))
        version = self.version
        if not version:
            key = self._guard("resolving the key version", lambda: key_client_cls(
                vault_url=self.vault_url, credential=credential).get_key(self.name))
            version = str(key.properties.version)
        key_id = f"{self.vault_url}/keys/{self.name}/{version}"
        client = self._client(context, crypto_cls, key_id, credential)
        result = self._guard("encrypt", lambda: client.encrypt(algorithm.rsa_oaep_256, data_key))
        pinned = AzureKvKey(self.vault_url, self.name, version)
        return pinned.to_record(encode_ciphertext(result.ciphertext), timestamp_of(now))

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        blob = decode_ciphertext(record.enc)
        credential_cls, _, crypto_cls, algorithm = self._sdk()
        key_id = f"{self.vault_url}/keys/{self.name}/{self.version}".rstrip("/")
        credential = self._guard("loading credentials", lambda: shared_credential(credential_cls))
        client = self._client(context, crypto_cls, key_id, credential)
        result = self._guard("decrypt", lambda: client.decrypt(algorithm.rsa_oaep_256, blob))
        plain: bytes = result.plaintext
        return plain


def parse_key_urls(text: str) -> list[AzureKvKey]:
    """``--azure-kv`` / ``SOPS_AZURE_KEYVAULT_URLS`` / rule-level ``azure_keyvault``."""
    return [AzureKvKey.from_url(item) for item in split_key_list(text)]
