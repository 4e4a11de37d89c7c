"""The one small interface every master-key backend implements.

A master key wraps (encrypts) the data key, or one Shamir share of it, and unwraps it again.
Backends are described by strings: the *spec* a user writes (an age recipient, a PGP
fingerprint, a KMS ARN, or a ``.sops.yaml`` key-group object) and the *record* stored in the
file's metadata (:class:`sopskit.format.metadata.KeyRecord`). The key-type table
(:mod:`sopskit.format.keytypes`) maps the metadata key type (``age``, ``pgp``, ``kms``...) to
the backend class, imported only when a file or rule uses that type, and holds every other
fact about the type (flags, environment variable, ``.sops.yaml`` fields, identifying fields).
"""

from __future__ import annotations

import _thread
import datetime as _dt
import os
from collections.abc import Callable, Hashable, Mapping, Sequence

from sopskit.format.metadata import KeyRecord
from sopskit.record import Record

TYPE_CHECKING = False  # typing is not imported at run time: it costs a cold start ~8% (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any, ClassVar, Protocol, Self, TypeVar

    _Client = TypeVar("_Client")
else:
    Protocol = object  # the two protocols below are for the type checker; nothing checks them at run time


class KeyContext(Record):
    """What backends may use to unwrap a data key; injected so tests and the cluster
    workflow can supply identities in memory.

    ``age_identities``: when not None, these identity strings (``AGE-SECRET-KEY-1…`` or
    OpenSSH private keys) are used *instead of* the environment and key files.
    ``env``: the environment to read ``SOPS_*`` variables from (default: a copy of
    ``os.environ``). ``encryption_context``: AWS KMS encryption context given on the command
    line (``--encryption-context``). ``passphrase_reader``: asks for the passphrase of a
    passphrase-protected age identity file or SSH key; when None, the terminal is used if
    stdin is a TTY, otherwise loading that source fails.

    A record rather than a dataclass (the decrypt path must not import :mod:`dataclasses`);
    :meth:`replace` stands for ``dataclasses.replace``. The repr hides the identities and the
    environment (which may hold ``SOPS_AGE_KEY``). The context also keeps the service clients
    its backends built (:meth:`service_client`): derived state, not a field.
    """

    __slots__ = ("_clients", "_clients_lock", "age_identities", "aws_profile", "encryption_context", "env",
                 "gpg_exec", "passphrase_reader")
    _fields = ("age_identities", "env", "gpg_exec", "encryption_context", "aws_profile", "passphrase_reader")
    _hidden = ("age_identities", "env")

    def __init__(
        self,
        age_identities: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        gpg_exec: str | None = None,
        encryption_context: Mapping[str, str] | None = None,
        aws_profile: str | None = None,
        passphrase_reader: Callable[[str], str] | None = None,
    ) -> None:
        self.age_identities = age_identities
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.gpg_exec = gpg_exec
        self.encryption_context = encryption_context
        self.aws_profile = aws_profile
        self.passphrase_reader = passphrase_reader
        self._clients: dict[Hashable, Any] = {}
        self._clients_lock = _thread.allocate_lock()

    def service_client(self, key: Hashable, build: Callable[[], _Client]) -> _Client:
        """The client ``build`` makes for ``key``, made once for everything opened with this
        context (a command run: the many-file commands share one context across files and
        threads).

        Why: a key service's SDK client may cost requests of its own before the first unwrap
        (Azure's ``CryptographyClient`` fetches the key once, to try local cryptography), so
        a client per file multiplies a run's requests. Why per context and not per process:
        a library caller's next run (another credential, another environment) starts fresh.
        The clients must be thread-safe (Azure's and boto3's are).
        """
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = build()
            return client


def timestamp_of(now: _dt.datetime) -> str:
    """``created_at`` as sops writes it: RFC 3339 in UTC with a ``Z`` and whole seconds."""
    if now.tzinfo is None:
        raise ValueError("created_at needs a timezone-aware time")
    return now.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_key_list(text: str) -> list[str]:
    """Items of a comma-separated key list (``--age a,b``), trimmed, empty items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


class MasterKey(Protocol):
    """One master key: knows how to wrap a data key and to unwrap its own record."""

    key_type: ClassVar[str]

    def to_string(self) -> str:
        """The key's identity as users write it (recipient, fingerprint, ARN, URL).

        Used to compare keys (updatekeys, rotate --rm-*) and in messages; never secret.
        """
        ...

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        """Wrap ``data_key`` and return the metadata record to store in the file."""
        ...

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        """Unwrap the data key (or share) from this key's record; raise MasterKeyError."""
        ...


class MasterKeyFactory(Protocol):
    key_type: ClassVar[str]

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> MasterKey:
        """From a CLI string or a ``.sops.yaml`` key-group entry; raise ConfigError."""
        ...

    @classmethod
    def from_record(cls, record: KeyRecord) -> MasterKey:
        """From a metadata record (its ``enc`` is what ``decrypt`` unwraps)."""
        ...


class SingleIdKey:
    """Plumbing shared by backends whose key is one identifier string (an age recipient, a PGP
    fingerprint, a GCP resource ID, a HuaweiCloud key ID): equality, hashing, ``repr``, and
    the spec/record forms ``{id_field: ...}`` (age and PGP override the last two).

    Subclasses set ``key_type`` and ``id_field``, validate in ``__init__(identifier)`` and
    return the identifier from ``to_string``.
    """

    key_type: ClassVar[str]
    id_field: ClassVar[str]

    def __init__(self, identifier: str) -> None:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def to_string(self) -> str:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_string()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, SingleIdKey) and other.to_string() == self.to_string()

    def __hash__(self) -> int:
        return hash((self.key_type, self.to_string()))

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> Self:
        if isinstance(spec, Mapping):
            spec = str(spec.get(cls.id_field) or "")
        return cls(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> Self:

        return cls(str(record.fields.get(cls.id_field) or ""))

    def to_record(self, enc: str, created_at: str) -> KeyRecord:
        return KeyRecord(self.key_type, {self.id_field: self.to_string(), "created_at": created_at, "enc": enc})


_SECRET_MARKERS = ("SECRET-KEY", "PRIVATE KEY", "AGE-PLUGIN-", "BEGIN PGP PRIVATE", "-----BEGIN")


def quote_key_input(text: str) -> str:
    """Quote what a user gave as a recipient or fingerprint for an error message, unless it
    is key material: an identity pasted where a public key belongs must not be echoed."""
    if any(marker in text.upper() for marker in _SECRET_MARKERS):
        return "an age identity or private key (not shown; a public recipient is expected here)"
    shown = text if len(text) <= 120 else text[:117] + "..."
    return repr(shown)
