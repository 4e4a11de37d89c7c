"""The inventory's data: secret-bearing objects, key holders, and the inventory itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sopskit.policy.repo import Repo


@dataclass
class Recipient:
    """One master key of a SOPS file, as public data."""

    key_type: str  # age, pgp, kms, gcp_kms, azure_kv, hc_vault, hckms
    key: str  # the recipient, fingerprint, ARN or URL: never key material
    holder: str  # who holds the private half, from the holders file ("unknown" if unlisted)
    holder_kind: str  # cluster, person, ci, kms, unknown
    post_quantum: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.key_type, "key": self.key, "holder": self.holder, "holder_kind": self.holder_kind,
                "post_quantum": self.post_quantum}


@dataclass
class SecretEntry:
    """One secret-bearing object of the repository (one document of one file)."""

    path: str
    kind: str  # Secret, ExternalSecret, SealedSecret, SopsFile (not a Kubernetes object), Plaintext
    namespace: str | None
    name: str | None
    keys: list[str]
    environment: str
    protection: str  # sops, external, sealed, plaintext
    recipients: list[Recipient] = field(default_factory=list)
    owner: str | None = None
    last_changed: str | None = None  # ISO date of the last commit that changed a value
    rotation_due: bool = False
    remote_refs: list[str] = field(default_factory=list)  # ExternalSecret remote keys
    #: workloads in the repository that read the Secret: {"kind", "namespace", "name", "via"}
    consumers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key_type_summary(self) -> str:
        """classical, post-quantum, mixed, or none (no age keys)."""
        age = [r for r in self.recipients if r.key_type == "age"]
        if not age:
            return "none"
        pq = sum(r.post_quantum for r in age)
        return "post-quantum" if pq == len(age) else "classical" if pq == 0 else "mixed"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "keys": self.keys, "environment": self.environment, "protection": self.protection,
            "recipients": [r.to_json() for r in self.recipients], "key_type": self.key_type_summary,
            "owner": self.owner, "last_changed": self.last_changed, "rotation_due": self.rotation_due,
            "remote_refs": self.remote_refs, "consumers": self.consumers,
        }


@dataclass
class Holder:
    """A key holder and the secrets its key opens."""

    key: str
    holder: str
    holder_kind: str
    environments: list[str]
    secrets: list[str]  # "path" or "path#namespace/name"
    per_environment: dict[str, int] = field(default_factory=dict)  # environment -> secrets it opens there

    @property
    def spans_environments(self) -> bool:
        return len([e for e in self.environments if e != "unknown"]) > 1

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "holder": self.holder, "kind": self.holder_kind,
                "environments": self.environments, "secrets": self.secrets,
                "spans_environments": self.spans_environments}


@dataclass
class Inventory:
    """Everything ``sopskit inventory`` found, ready to render or grade."""

    root: str
    secrets: list[SecretEntry]
    holders: list[Holder]
    environments: list[str]
    max_age_days: int
    has_history: bool
    notes: list[str] = field(default_factory=list)  # what could not be determined, and why
    #: the repository as walked (for the report's own checks; not part of the JSON)
    repo: Repo | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "max_age_days": self.max_age_days,
            "environments": self.environments,
            "secrets": [s.to_json() for s in self.secrets],
            "holders": [h.to_json() for h in self.holders],
            "notes": self.notes,
        }
