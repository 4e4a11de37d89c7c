"""The ``sops-age`` Secret: where a cluster keeps the age identities Flux decrypts with.

Flux's kustomize-controller reads every data key ending in ``.agekey`` of the Secret named in
``spec.decryption.secretRef`` and accepts several identities in one key, one per line. sopskit
writes one key, ``age.agekey``, and reads all ``*.agekey`` keys, as Flux does.

Everything here holds identities in memory only; nothing is written to a file. The client is
whatever :func:`sopskit.k8s.client.connect` returns; :class:`SecretClient` names the few
methods used, so tests and callers can inject another implementation (``client_factory``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sopskit.errors import ClusterError, ConfigError

DEFAULT_NAMESPACE = "flux-system"
DEFAULT_SECRET_NAME = "sops-age"
AGEKEY_DATA_KEY = "age.agekey"
AGEKEY_SUFFIX = ".agekey"
#: label set on Secrets sopskit creates, so they can be found and audited
MANAGED_LABELS = {"app.kubernetes.io/managed-by": "sopskit"}


class SecretClient(Protocol):
    """The part of :class:`sopskit.k8s.client.ClusterClient` the workflow uses."""

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None: ...

    def create_secret(
        self, namespace: str, name: str, data: Mapping[str, bytes], *, labels: Mapping[str, str] | None = None
    ) -> Any: ...

    def replace_secret(
        self, namespace: str, name: str, data: Mapping[str, bytes], *, resource_version: str | None = None
    ) -> Any: ...

    def delete_secret(self, namespace: str, name: str) -> Any: ...

    def ensure_namespace(self, name: str) -> bool: ...

    def secret_resource_version(self, namespace: str, name: str) -> str | None: ...


ClientFactory = Callable[..., SecretClient]


@dataclass(frozen=True)
class SecretRef:
    """Where the identities live: namespace and Secret name."""

    namespace: str = DEFAULT_NAMESPACE
    name: str = DEFAULT_SECRET_NAME

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def connect_client(
    *, kubeconfig: str | None = None, context: str | None = None, client_factory: ClientFactory | None = None
) -> SecretClient:
    """A cluster client: ``client_factory`` when injected, else the real one (lazy import)."""
    if client_factory is not None:
        return client_factory(kubeconfig=kubeconfig, context=context)
    from sopskit.k8s.client import connect

    client: SecretClient = connect(kubeconfig=kubeconfig, context=context)
    return client


def parse_agekey(data: bytes) -> list[str]:
    """Identities in an ``.agekey`` value: one per line, blank lines and ``#`` comments skipped."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the cluster's age key is not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def format_agekey(identities: Sequence[str]) -> bytes:
    """The ``age.agekey`` value for ``identities``: one per line, newline-terminated."""
    return "".join(f"{identity.strip()}\n" for identity in identities).encode("utf-8")


def identities_in(data: Mapping[str, bytes]) -> list[str]:
    """Every identity in the Secret's ``*.agekey`` keys, ``age.agekey`` first, no duplicates."""
    keys = sorted((k for k in data if k.endswith(AGEKEY_SUFFIX)), key=lambda k: (k != AGEKEY_DATA_KEY, k))
    found: list[str] = []
    for key in keys:
        for identity in parse_agekey(data[key]):
            if identity not in found:
                found.append(identity)
    return found


def read_recipients(client: SecretClient, ref: SecretRef) -> list[str] | None:
    """The public keys of the identities the Secret holds (the identities never leave this
    function), or None when the Secret does not exist."""
    from sopskit.keys.age import public_key_of

    identities = read_identities(client, ref)
    return None if identities is None else list(dict.fromkeys(public_key_of(i) for i in identities))


def read_identities(client: SecretClient, ref: SecretRef) -> list[str] | None:
    """The identities held by the Secret, or None when the Secret does not exist."""
    data = client.read_secret(ref.namespace, ref.name)
    if data is None:
        return None
    return identities_in(data)


def require_identities(client: SecretClient, ref: SecretRef) -> list[str]:
    """Like :func:`read_identities`, but a missing or empty Secret is an error with a hint."""
    identities = read_identities(client, ref)
    if identities is None:
        raise ClusterError(
            f"the cluster has no Secret {ref}",
            hint="create it with `sopskit cluster init`, or pass --kubeconfig/--context for the "
                 "right cluster",
        )
    if not identities:
        raise ClusterError(f"the Secret {ref} holds no age identity (no *.agekey data key)")
    return identities


def write_identities(client: SecretClient, ref: SecretRef, identities: Sequence[str]) -> None:
    """Replace the Secret's data with exactly ``identities`` in ``age.agekey``.

    Uses the resourceVersion just read, so a concurrent change makes the server answer 409
    instead of one writer silently undoing the other (never client-side apply).
    """
    version = client.secret_resource_version(ref.namespace, ref.name)
    data = {AGEKEY_DATA_KEY: format_agekey(identities)}
    if version is None:
        client.create_secret(ref.namespace, ref.name, data, labels=MANAGED_LABELS)
    else:
        client.replace_secret(ref.namespace, ref.name, data, resource_version=version)


__all__ = [
    "AGEKEY_DATA_KEY",
    "DEFAULT_NAMESPACE",
    "DEFAULT_SECRET_NAME",
    "ClientFactory",
    "SecretClient",
    "SecretRef",
    "connect_client",
    "format_agekey",
    "identities_in",
    "parse_agekey",
    "read_identities",
    "require_identities",
    "write_identities",
]
