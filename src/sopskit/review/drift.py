"""``sopskit diff --cluster``: does the live Secret equal what Git says, key by key?

Both sides are reduced to keyed fingerprints (HMAC-SHA256 under a random key made for this run,
:mod:`sopskit.review.fingerprint`) and only the verdict is reported: ``same``, ``differs``,
``missing`` (in Git, not live) or ``extra`` (live, not in Git). The comparison is local and the
key is never kept, so the check reveals equality and nothing else, and cannot be turned into an
oracle: unlike a verify endpoint, nothing here answers a question from outside.

The live Secrets are read by the caller (the CLI, through :mod:`sopskit.k8s`) and handed in as a
function, which keeps this package free of cluster code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sopskit.review.errors import BuildError
from sopskit.review.fingerprint import Fingerprinter
from sopskit.review.secretdata import desired_values

LiveReader = Callable[[str, str], "Mapping[str, bytes] | None"]
STATES = ("same", "differs", "missing", "extra")


@dataclass(frozen=True)
class KeyDrift:
    key: str
    state: str


@dataclass
class SecretDrift:
    namespace: str
    name: str
    live: bool
    keys: list[KeyDrift] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return self.live and all(k.state == "same" for k in self.keys)

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "live": self.live, "in_sync": self.in_sync,
                "keys": {k.key: k.state for k in self.keys}}


def _identity(secret: Mapping[str, Any], default_namespace: str) -> tuple[str, str]:
    raw = secret.get("metadata")
    meta: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise BuildError("a Secret without metadata.name cannot be compared")
    namespace = meta.get("namespace")
    return (namespace if isinstance(namespace, str) and namespace else default_namespace), name


def compare_secrets(
    desired: Iterable[Mapping[str, Any]],
    read_live: LiveReader,
    *,
    default_namespace: str = "default",
    fingerprints: Fingerprinter | None = None,
) -> list[SecretDrift]:
    """One :class:`SecretDrift` per desired Secret (other kinds are ignored)."""
    fingerprints = fingerprints or Fingerprinter()
    results: list[SecretDrift] = []
    for secret in desired:
        if secret.get("kind") != "Secret":
            continue
        namespace, name = _identity(secret, default_namespace)
        wanted = {k: fingerprints.digest(v) for k, v in desired_values(secret).items()}
        live_values = read_live(namespace, name)
        drift = SecretDrift(namespace, name, live_values is not None)
        live = {k: fingerprints.digest(v) for k, v in (live_values or {}).items()}
        for key in sorted(wanted.keys() | live.keys()):
            if key not in live:
                state = "missing"
            elif key not in wanted:
                state = "extra"
            else:
                state = "same" if wanted[key] == live[key] else "differs"
            drift.keys.append(KeyDrift(key, state))
        results.append(drift)
    return results


def to_text(results: list[SecretDrift]) -> str:
    if not results:
        return "no Secret to compare\n"
    lines = []
    for drift in results:
        head = "in sync" if drift.in_sync else ("NOT IN THE CLUSTER" if not drift.live else "differs")
        lines.append(f"Secret {drift.namespace}/{drift.name}: {head}")
        lines.extend(f"  {k.key}: {k.state}" for k in drift.keys)
    return "\n".join(lines) + "\n"


def to_json(results: list[SecretDrift]) -> str:
    return json.dumps({"in_sync": all(d.in_sync for d in results),
                       "secrets": [d.to_json() for d in results]}, indent=2) + "\n"

