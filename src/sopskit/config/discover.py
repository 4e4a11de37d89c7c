"""Which ``.sops.yaml`` a command uses, decided in one place as sops decides it.

An explicit path (``--config``, or a library caller's) wins; then ``$SOPS_CONFIG``; then the
first ``.sops.yaml`` found walking up from the working directory. The command line and the
library's ``encrypt(config=True)`` both come here, so a CI job that sets ``SOPS_CONFIG`` gets
the same rules whichever way it calls sopskit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from sopskit.config.sops_yaml import SopsConfig

ENV_VAR = "SOPS_CONFIG"


def load_discovered(
    explicit: str | Path | None = None, *, env: Mapping[str, str] | None = None, rules: bool = True
) -> SopsConfig | None:
    """The config to use: ``explicit``, else ``$SOPS_CONFIG``, else discovery; None if none.
    ``rules=False`` reads the settings only, leaving the creation rules unparsed (a decrypt
    needs the stores' indent only)."""
    from sopskit.config.sops_yaml import find_config, load_config

    chosen = explicit or (os.environ if env is None else env).get(ENV_VAR)
    if chosen:
        return load_config(chosen, rules=rules)
    found = find_config()
    return load_config(found, rules=rules) if found is not None else None


__all__ = ["ENV_VAR", "load_discovered"]
