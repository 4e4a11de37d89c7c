"""What ``doctor --cluster`` reads from the cluster, held in memory and never printed.

The decryption Secret's identities are read to derive their *public* recipients and to open
files for the MAC and substitution checks; no identity leaves this module's objects, whose
``repr`` hides them. App Secrets are only tested for existence (a metadata ``Table``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sopskit.errors import SopsError
from sopskit.format.keytypes import flux_reads, flux_secret_names
from sopskit.k8s.agesecret import identities_in
from sopskit.keys.age import public_key_of


class ClusterReader(Protocol):
    """The read-only calls doctor makes (:class:`sopskit.k8s.client.ClusterClient` has them)."""

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None: ...
    def secret_exists(self, namespace: str, name: str) -> bool: ...
    def list_kustomizations(self, namespace: str | None = None) -> list[dict[str, Any]]: ...
    def can_i(
        self, verb: str, resource: str, namespace: str | None, name: str | None, *, as_user: str | None = None
    ) -> bool: ...


@dataclass
class KeySecret:
    """The decryption Secret as doctor needs it: names, public recipients, identities hidden."""

    namespace: str
    name: str
    exists: bool | None
    error: str | None = None
    key_names: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def readable(self) -> list[str]:
        return [k for k in self.key_names if flux_reads(k)]

    @property
    def has_pgp(self) -> bool:
        return any(k.endswith(".asc") for k in self.key_names)

    @property
    def has_kms(self) -> bool:
        return any(k in flux_secret_names() for k in self.key_names)


def read_key_secret(client: ClusterReader, namespace: str, name: str) -> KeySecret:
    try:
        data: Mapping[str, bytes] | None = client.read_secret(namespace, name)
    except SopsError as exc:
        return KeySecret(namespace, name, None, error=exc.message)
    if data is None:
        return KeySecret(namespace, name, False)
    secret = KeySecret(namespace, name, True, key_names=sorted(data))
    try:
        secret.identities = identities_in(data)
    except SopsError as exc:
        secret.error = exc.message
        return secret
    recipients: list[str] = []
    for identity in secret.identities:
        try:
            recipients.append(public_key_of(identity))
        except SopsError:
            secret.error = "an entry of an .agekey data key is not an age identity"
    secret.recipients = list(dict.fromkeys(recipients))
    return secret


__all__ = ["ClusterReader", "KeySecret", "flux_reads", "read_key_secret"]
