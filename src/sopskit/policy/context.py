"""Everything a check may look at, computed once per run: repo, settings, ``.sops.yaml`` and
the environments with their namespaces and recipients.

Environment semantics (documented in docs/guardrails.md):

* The environments are ``sopskit.environments`` when set; otherwise the directories directly
  below ``secrets_root`` plus every ``secrets_root/NAME/`` written literally in a rule's
  ``path_regex``.
* A creation rule *belongs* to environment E when its ``path_regex`` matches a probe file under
  ``secrets_root/E/`` and no probe of any other environment (a catch-all rule belongs to none).
* E's recipients are the age recipients of the rules that belong to E.
* E's namespaces are the configured ones, by default ``E``, ``E-*`` and ``*-E`` (globs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from sopskit.policy.repo import Repo, RepoFile
from sopskit.policy.settings import PolicySettings
from sopskit.policy.sopsconfig import CONFIG_NAMES, RuleView, SopsConfigView, read_sops_config

_PROBE_NAMES = (
    "secret.yaml",
    "secret.enc.yaml",
    "secret.sops.yaml",
    "secret.json",
    "secret.env",
    "app/secret.yaml",
)
_ENV_NAME = r"([A-Za-z0-9][A-Za-z0-9_.-]*)"


@dataclass(frozen=True)
class Environment:
    name: str
    namespace_patterns: tuple[str, ...]

    def owns_namespace(self, namespace: str) -> bool:
        return any(fnmatchcase(namespace, pattern) for pattern in self.namespace_patterns)


@dataclass
class CheckContext:
    repo: Repo
    settings: PolicySettings
    sops_config: SopsConfigView | None
    #: check id -> how many things it evaluated (0: "nothing to check", absent: not counted)
    evaluated: dict[str, int] = field(default_factory=dict)
    #: check id -> why it does not apply to this repository (a setting it needs is not set)
    not_applicable: dict[str, str] = field(default_factory=dict)
    #: check id -> what it left out and why (shown with --verbose)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def count(self, check_id: str, n: int = 1) -> None:
        """Record that ``check_id`` looked at ``n`` more things (0 just registers the counter)."""
        self.evaluated[check_id] = self.evaluated.get(check_id, 0) + n

    #: per-run values shared by several checks (e.g. the Flux graph)
    shared: dict[str, Any] = field(default_factory=dict)

    def note(self, check_id: str, text: str) -> None:
        notes = self.notes.setdefault(check_id, [])
        if text not in notes:
            notes.append(text)

    def mark_not_applicable(self, check_id: str, reason: str) -> None:
        self.not_applicable[check_id] = reason

    @cached_property
    def environments(self) -> tuple[Environment, ...]:
        if self.settings.environments is not None:
            return tuple(
                Environment(spec.name, spec.namespaces or _default_patterns(spec.name))
                for spec in self.settings.environments
            )
        names = set(self._env_dirs()) | set(self._env_names_in_rules())
        return tuple(Environment(name, _default_patterns(name)) for name in sorted(names))

    def _env_dirs(self) -> set[str]:
        prefix = self.settings.secrets_root + "/"
        return {
            f.rel[len(prefix) :].split("/", 1)[0]
            for f in self.repo.files
            if f.rel.startswith(prefix) and "/" in f.rel[len(prefix) :]
        }

    def _env_names_in_rules(self) -> set[str]:
        if self.sops_config is None:
            return set()
        literal = re.escape(self.settings.secrets_root).replace("\\/", "/")
        pattern = re.compile(rf"{literal}(?:\\?/){_ENV_NAME}(?:\\?/)")
        names: set[str] = set()
        for rule in self.sops_config.rules:
            if rule.path_regex:
                names.update(m.group(1) for m in pattern.finditer(rule.path_regex.replace("\\/", "/")))
        return names

    def environment_of_path(self, rel: str) -> Environment | None:
        """The environment whose ``secrets_root/E/`` directory holds ``rel``."""
        prefix = self.settings.secrets_root + "/"
        if not rel.startswith(prefix) or "/" not in rel[len(prefix) :]:
            return None
        name = rel[len(prefix) :].split("/", 1)[0]
        return next((env for env in self.environments if env.name == name), None)

    @cached_property
    def rule_environments(self) -> dict[int, Environment]:
        """Rule index -> the one environment the rule belongs to (see module docstring)."""
        if self.sops_config is None:
            return {}
        owners: dict[int, Environment] = {}
        for rule in self.sops_config.rules:
            hits = [env for env in self.environments if self._rule_matches_env(rule, env)]
            if len(hits) == 1:
                owners[rule.index] = hits[0]
        return owners

    def _rule_matches_env(self, rule: RuleView, env: Environment) -> bool:
        if rule.path_regex is None:
            return False
        return any(
            rule.matches(self.config_relative(f"{self.settings.secrets_root}/{env.name}/{probe}"))
            for probe in _PROBE_NAMES
        )

    @cached_property
    def recipients_by_environment(self) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {env.name: set() for env in self.environments}
        if self.sops_config is not None:
            for rule in self.sops_config.rules:
                env = self.rule_environments.get(rule.index)
                if env is not None:
                    found[env.name].update(rule.age_recipients)
        return {name: frozenset(recipients) for name, recipients in found.items()}

    def config_relative(self, rel: str) -> str:
        """Path as sops matches it: relative to the ``.sops.yaml`` directory."""
        if self.sops_config is None:
            return rel
        absolute = self.repo.root / rel
        try:
            return PurePosixPath(absolute.relative_to(self.sops_config.directory)).as_posix()
        except ValueError:
            return absolute.as_posix()

    def rule_for(self, file: RepoFile) -> RuleView | None:
        if self.sops_config is None:
            return None
        return self.sops_config.rule_for(self.config_relative(file.rel))

    @cached_property
    def sops_configs(self) -> tuple[SopsConfigView, ...]:
        """The ``.sops.yaml`` in use, then every other one in the repository (each read once per
        run: several checks look at all of them)."""
        found = [self.sops_config] if self.sops_config is not None else []
        seen = {config.path.resolve() for config in found}
        for file in self.repo.files:
            if file.name in CONFIG_NAMES and file.path.resolve() not in seen:
                seen.add(file.path.resolve())
                found.append(read_sops_config(file.path))
        return tuple(found)

    def config_rel(self) -> str:
        """The ``.sops.yaml`` path as violations report it (relative to the root if inside)."""
        if self.sops_config is None:
            return ".sops.yaml"
        return self.relative(self.sops_config.path)

    def relative(self, path: Path) -> str:
        """``path`` as violations report it: relative to the checked root, absolute outside it."""
        return _relative_or_absolute(path, self.repo.root)


def _default_patterns(name: str) -> tuple[str, ...]:
    return (name, f"{name}-*", f"*-{name}")


def _relative_or_absolute(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
