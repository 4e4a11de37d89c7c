"""Results of ``sopskit doctor``: named checks with stable ids, and the report that holds them.

A check is a link of the chain Flux walks to decrypt one file (or a repository-wide fact). Its
``message`` names files, rules, Secrets and key *names*, never a value or key material, so a
report can be pasted into an issue or a CI log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "fail", "unknown"]

#: The chain, in the order Flux walks it for one file. Ids are an interface (scripts match them).
CHAIN: tuple[tuple[str, str], ...] = (
    ("sops.parse", "the file parses and is a SOPS file"),
    ("sops.recipients", "the file lists the keys its data key is wrapped for"),
    ("sopsyaml.rule", "a .sops.yaml rule matches its path and the file lists that rule's recipients"),
    ("sopsyaml.shadow", "no earlier .sops.yaml rule shadows a rule written for its path"),
    ("flux.kustomization", "a Flux Kustomization builds it"),
    ("flux.decryption", "that Kustomization decrypts with sops and names a Secret"),
    ("flux.kms-auth", "for a file only cloud keys open: the controller can reach one (decryption Secret "
     "entry such as sops.azure-kv, or workload identity)"),
    ("cluster.secret", "the decryption Secret exists and has key names Flux reads"),
    ("cluster.recipient", "one of the Secret's identities is a recipient of the file"),
    ("sops.mac", "the data key opens and the MAC checks out"),
    ("cluster.rbac", "the controller's service account may read the Secret"),
    ("flux.substitution", "no decrypted value is rejected by Flux's strict post-build substitution"),
)
#: Repository- and cluster-wide checks.
GLOBAL: tuple[tuple[str, str], ...] = (
    ("sopsyaml.config", ".sops.yaml exists and parses"),
    ("sopsyaml.rule-wins", "every rule for a cluster key is the first match of at least one file"),
    ("sopsyaml.retired-key", "no rule lists a key the cluster no longer holds"),
    ("flux.ready", "the Kustomization is Ready with no decryption error"),
)
#: The seed's verification checklist.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("checklist.encrypted", "values are ENC[...]"),
    ("checklist.no-plaintext-diff", "no plaintext in the diff"),
    ("checklist.kustomization-ready", "the Kustomization is Ready"),
    ("checklist.secret-exists", "the Secret exists in its namespace"),
)
TITLES = dict(CHAIN + GLOBAL + CHECKLIST)


@dataclass(frozen=True)
class Check:
    """One answered check. ``fix`` is a command or edit that repairs a failure."""

    id: str
    status: Status
    message: str
    file: str | None = None
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status, "file": self.file, "message": self.message}
        if self.fix:
            out["fix"] = self.fix
        return out


@dataclass
class Report:
    """Every check ``doctor`` answered, in order: per-file chains, then global checks."""

    checks: list[Check] = field(default_factory=list)
    checklist: list[Check] = field(default_factory=list)
    files: int = 0
    mode: str = "offline"

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks + self.checklist)

    def failures(self) -> list[Check]:
        return [c for c in self.checks + self.checklist if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "files": self.files,
            "checks": [c.to_json() for c in self.checks + self.checklist],
        }


__all__ = ["CHAIN", "CHECKLIST", "GLOBAL", "TITLES", "Check", "Report", "Status"]
