"""``.sops.yaml``: discovery, schema and creation-rule matching."""

from sopskit.config.sops_yaml import (
    CONFIG_NAME,
    CreationRule,
    KeySpec,
    SopsConfig,
    find_config,
    load_config,
    parse_config,
)

__all__ = [
    "CONFIG_NAME",
    "CreationRule",
    "KeySpec",
    "SopsConfig",
    "find_config",
    "load_config",
    "parse_config",
]
