"""Shared fixtures: the real sops vectors in ../shared/vectors and throwaway key homes.

The vectors are read in place, never copied into the project. When they are missing, tests
that need them skip on a developer machine and **fail** under CI (``CI`` set), so a CI run
can never pass by skipping the compatibility evidence.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SOPSKIT_SHARED_DIR", ROOT.parent / "shared"))
VECTORS = SHARED / "vectors" / "sops"
FUNCTIONAL = SHARED / "vectors" / "sops-functional"


def require(path: Path) -> Path:
    """Return ``path``; skip locally or fail under CI when it does not exist."""
    if not path.exists():
        message = f"required test data missing: {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        message = f"required peer tool {name!r} is not on PATH"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_module(name: str) -> object:
    """Import an optional test dependency; skip locally, fail under CI when it is missing."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"required module {name!r} is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return require(VECTORS)


@pytest.fixture(scope="session")
def manifest(vectors_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((vectors_dir / "manifest.json").read_text())
    return loaded


@pytest.fixture(scope="session")
def age_keys_file(vectors_dir: Path) -> Path:
    return vectors_dir / "keys" / "age" / "keys.txt"


@pytest.fixture(scope="session")
def gnupg_home(tmp_path_factory: pytest.TempPathFactory, vectors_dir: Path) -> Iterator[Path]:
    """A private GNUPGHOME holding the sops functional-test keys (no passphrase)."""
    require_tool("gpg")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--import", str(vectors_dir / "keys" / "pgp" / "sops_functional_tests_key.asc")],
        env=env, check=True, capture_output=True,
    )
    yield home
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)


@pytest.fixture()
def key_env(monkeypatch: pytest.MonkeyPatch, gnupg_home: Path, age_keys_file: Path, tmp_path: Path) -> dict[str, str]:
    """Environment with the vector keys: GNUPGHOME and SOPS_AGE_KEY_FILE; HOME isolated."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_keys_file))
    for var in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    return {"GNUPGHOME": str(gnupg_home), "SOPS_AGE_KEY_FILE": str(age_keys_file), "HOME": str(home)}
