"""Who owns a path (CODEOWNERS) and who holds a key (the holders file).

CODEOWNERS follows GitHub's rules: gitignore-style patterns, the *last* matching line wins,
and a line with a pattern but no owner un-owns the path. The holders file is sopskit's own::

    # .sopskit-holders.yaml
    holders:
      - key: age1...            # a public key: age recipient, PGP fingerprint, KMS ARN/URL
        holder: cluster/prod-eu
        kind: cluster           # cluster | person | ci | service
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sopskit.errors import ConfigError
from sopskit.policy.globs import glob_to_regex

CODEOWNERS_LOCATIONS = ("CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")
HOLDERS_FILE = ".sopskit-holders.yaml"
HOLDER_KINDS = ("cluster", "person", "ci", "service")
OWNER_ANNOTATION = "sopskit.io/owner"


@dataclass(frozen=True)
class _OwnerRule:
    pattern: re.Pattern[str]
    owners: tuple[str, ...]


def _codeowners_regex(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern as the policy settings' glob: a leading ``/`` or an inner ``/``
    anchors it at the root, otherwise it matches a name at any depth."""
    anchored = pattern.startswith("/") or "/" in pattern.strip("/")
    return glob_to_regex(pattern, anywhere=not anchored)


def _owns(rule: re.Pattern[str], rel: str) -> bool:
    """A pattern names a file or a directory; a directory owns everything below it."""
    parts = rel.split("/")
    return any(rule.fullmatch("/".join(parts[:i])) for i in range(len(parts), 0, -1))


class CodeOwners:
    """The parsed CODEOWNERS file of a repository (empty when there is none)."""

    def __init__(self, text: str = "", source: str | None = None) -> None:
        self.source = source
        self._rules: list[_OwnerRule] = []
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#") or line.startswith("["):
                continue
            pattern, *owners = line.split()
            self._rules.append(_OwnerRule(_codeowners_regex(pattern), tuple(owners)))

    @classmethod
    def load(cls, root: Path) -> CodeOwners:
        for rel in CODEOWNERS_LOCATIONS:
            path = root / rel
            if path.is_file():
                return cls(path.read_text(encoding="utf-8", errors="replace"), rel)
        return cls()

    def owners_of(self, rel: str) -> tuple[str, ...]:
        for rule in reversed(self._rules):
            if _owns(rule.pattern, rel):
                return rule.owners
        return ()


@dataclass(frozen=True)
class KeyHolder:
    holder: str
    kind: str


def load_holders(path: Path) -> dict[str, KeyHolder]:
    """Public key -> holder, from a holders file (see the module docstring)."""
    from sopskit.stores._pyyaml import pyyaml

    yaml = pyyaml()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the holders file ({exc.__class__.__name__})") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: the holders file is not valid YAML") from None
    entries = (raw or {}).get("holders") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a `holders:` list of {{key, holder, kind}}")
    found: dict[str, KeyHolder] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry.get("holder"):
            raise ConfigError(f"{path}: holders[{index}] needs `key` and `holder`")
        kind = str(entry.get("kind", "person"))
        if kind not in HOLDER_KINDS:
            raise ConfigError(f"{path}: holders[{index}].kind must be one of {', '.join(HOLDER_KINDS)}")
        key = entry["key"].strip()
        if "SECRET-KEY" in key.upper() or "PRIVATE" in key.upper():
            raise ConfigError(f"{path}: holders[{index}].key looks like a private key; list public keys only")
        found[key] = KeyHolder(str(entry["holder"]), kind)
    return found
