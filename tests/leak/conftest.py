from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.leak.builder import LeakRepo, build_leak_repo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def leak_repo(tmp_path_factory: pytest.TempPathFactory) -> LeakRepo:
    return build_leak_repo(tmp_path_factory.mktemp("leak"))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No inherited SOPS_* settings, HOME isolated: only the keys a test gives exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_", "GNUPGHOME",
                                                                    "JOB_COMPLETION_INDEX"))}
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT / "src")})
    env.pop("XDG_CONFIG_HOME", None)
    env.update(extra)
    return env


SOPSKIT = [sys.executable, "-m", "sopskit"]
