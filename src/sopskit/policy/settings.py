"""The ``sopskit:`` section of ``.sops.yaml``: schema, defaults and validation.

sops ignores unknown top-level keys, so the guardrail settings live next to the creation rules
they describe. Every key is optional; the defaults fit the usual ``flux/secrets/ENV/`` layout::

    sopskit:
      secrets_root: flux/secrets          # one directory per environment below it
      environments:                       # default: discovered (dirs + creation rules)
        prod: {namespaces: [prod, "prod-*"]}
        staging: {}                       # namespaces default to [NAME, NAME-*, *-NAME]
      strict_namespaces: false            # true: a namespace of no known env is a violation
      production_paths: ["**/prod*/**", "**/production/**"]
      platform_namespaces: [flux-system, external-secrets, kube-system]
      externalsecret_prefixes:            # remote-key prefixes allowed per namespace
        "*": ["{namespace}/"]             # default: not set, the check is not applicable
        payments: ["payments/", "shared/payments/"]
      app_namespaces: ["team-*"]          # where a ClusterSecretStore is a violation (default:
                                          # not set, the check is not applicable)
      repository_urls: ["https://github.com/org/fleet"]   # this repo, besides `git remote`
      flux_sources: [flux-system/fleet]   # GitRepositories that are this repo, by name
      flux_global_decryption: auto        # true: kustomize-controller runs with
                                          # --sops-age-secret (Flux 2.7+); auto: on when a file
                                          # of the repo sets that flag
      exclude: ["tests/fixtures/**"]      # paths no check looks at
      disable: [terraform-sensitive-output]
      ignore:                             # one check silenced for some paths
        private-key: ["docs/examples/**"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sopskit.errors import ConfigError

DEFAULT_SECRETS_ROOT = "flux/secrets"
DEFAULT_PRODUCTION_PATHS = ("**/prod*/**", "**/production/**")
DEFAULT_PLATFORM_NAMESPACES = ("flux-system", "external-secrets", "kube-system")
DEFAULT_PREFIXES: Mapping[str, tuple[str, ...]] = {}
GLOBAL_DECRYPTION_VALUES = ("auto", "true", "false")

_KNOWN_KEYS = {
    "secrets_root",
    "environments",
    "strict_namespaces",
    "production_paths",
    "platform_namespaces",
    "externalsecret_prefixes",
    "exclude",
    "disable",
    "ignore",
    "app_namespaces",
    "repository_urls",
    "flux_sources",
    "flux_global_decryption",
}


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment named in settings; ``namespaces`` empty means the default patterns."""

    name: str
    namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicySettings:
    secrets_root: str = DEFAULT_SECRETS_ROOT
    environments: tuple[EnvironmentSpec, ...] | None = None  # None: discover them
    strict_namespaces: bool = False
    production_paths: tuple[str, ...] = DEFAULT_PRODUCTION_PATHS
    platform_namespaces: tuple[str, ...] = DEFAULT_PLATFORM_NAMESPACES
    externalsecret_prefixes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_PREFIXES)
    exclude: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    ignore: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    app_namespaces: tuple[str, ...] = ()
    repository_urls: tuple[str, ...] = ()
    flux_sources: tuple[str, ...] = ()
    flux_global_decryption: str = "auto"

    def allowed_prefixes(self, namespace: str) -> tuple[str, ...]:
        """Prefixes for ``namespace``; ``{namespace}`` in a template is replaced."""
        templates = self.externalsecret_prefixes.get(namespace, self.externalsecret_prefixes.get("*", ()))
        return tuple(t.replace("{namespace}", namespace) for t in templates)


def settings_from_mapping(raw: Mapping[str, Any], *, source: str = ".sops.yaml") -> PolicySettings:
    """Validate the raw ``sopskit:`` mapping; a wrong type is a ConfigError naming the key."""
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) in the sopskit section: {', '.join(map(str, unknown))}",
            hint=f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    defaults = PolicySettings()
    root = raw.get("secrets_root", defaults.secrets_root)
    if not isinstance(root, str) or not root.strip("/"):
        raise ConfigError(f"{source}: sopskit.secrets_root must be a non-empty path")
    strict = raw.get("strict_namespaces", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{source}: sopskit.strict_namespaces must be true or false")
    global_decryption = raw.get("flux_global_decryption", "auto")
    if isinstance(global_decryption, bool):
        global_decryption = "true" if global_decryption else "false"
    if global_decryption not in GLOBAL_DECRYPTION_VALUES:
        raise ConfigError(f"{source}: sopskit.flux_global_decryption must be auto, true or false")
    return PolicySettings(
        secrets_root=root.strip("/"),
        environments=_environments(raw.get("environments"), source),
        strict_namespaces=strict,
        production_paths=_strings(raw, "production_paths", defaults.production_paths, source),
        platform_namespaces=_strings(raw, "platform_namespaces", defaults.platform_namespaces, source),
        externalsecret_prefixes=_string_lists(raw, "externalsecret_prefixes", source) or DEFAULT_PREFIXES,
        exclude=_strings(raw, "exclude", (), source),
        disable=_strings(raw, "disable", (), source),
        ignore=_string_lists(raw, "ignore", source),
        app_namespaces=_strings(raw, "app_namespaces", (), source),
        repository_urls=_strings(raw, "repository_urls", (), source),
        flux_sources=_strings(raw, "flux_sources", (), source),
        flux_global_decryption=global_decryption,
    )


def _strings(raw: Mapping[str, Any], key: str, default: tuple[str, ...], source: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: sopskit.{key} must be a list of strings")
    return tuple(value)


def _string_lists(raw: Mapping[str, Any], key: str, source: str) -> dict[str, tuple[str, ...]]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: sopskit.{key} must be a mapping of name to list of strings")
    return {str(name): _strings(value, name, (), f"{source}: sopskit.{key}") for name in value}


def _environments(value: Any, source: str) -> tuple[EnvironmentSpec, ...] | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(EnvironmentSpec(name) for name in value)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: sopskit.environments must be a list of names or a mapping")
    specs = []
    for name, body in value.items():
        body = body or {}
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: sopskit.environments.{name} must be a mapping")
        namespaces = _strings(body, "namespaces", (), f"{source}: sopskit.environments.{name}")
        specs.append(EnvironmentSpec(str(name), namespaces))
    return tuple(specs)
