"""Run sopskit the way sops's functional test suite runs ``./sops``.

The suite (``functional-tests/src/lib.rs`` in getsops/sops, at the sops 3.13.2 commit named in
``../shared/vectors/sops-functional/README.md``) starts the binary with the
``functional-tests`` directory as its working directory, so ``.sops.yaml`` is found from the
current directory while the files it works on live in a separate temporary directory. We
rebuild that layout per test: a throwaway copy of ``.sops.yaml`` and ``res/`` (copied at test
time, never committed), a sibling temporary directory for the test's own files, a private
GNUPGHOME holding the functional-test PGP keys, an isolated HOME and no inherited ``SOPS_*``
settings. Missing shared data or ``gpg`` fails under CI (see ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FUNCTIONAL, require, require_tool

#: the interpreter that has sopskit installed, run as ``python -m sopskit`` (sops's ``./sops``)
SOPSKIT = [sys.executable, "-m", "sopskit"]
FUNCTIONAL_TESTS_DIR = FUNCTIONAL / "functional-tests"
PGP_KEYS = FUNCTIONAL / "pgp" / "sops_functional_tests_key.asc"
#: per-invocation limit; a hung gpg or pinentry must fail the test, not stall the suite
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SopsRunner:
    """One test's world: ``cwd`` mirrors ``functional-tests/``, ``tmp_dir`` mirrors lib.rs's
    ``TMP_DIR`` and ``env`` is the clean environment every invocation gets."""

    cwd: Path
    tmp_dir: Path
    env: dict[str, str]

    def prepare_temp_file(self, name: str, contents: bytes) -> Path:
        """Write ``contents`` to ``tmp_dir/name``, as lib.rs's ``prepare_temp_file`` does."""
        path = self.tmp_dir / name
        path.write_bytes(contents)
        return path

    def run(self, *args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``sopskit ARGS`` in ``cwd``; stdin is empty unless given (never the terminal)."""
        return subprocess.run(
            [*SOPSKIT, *map(str, args)],
            cwd=self.cwd,
            env=self.env,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )


def _clean_env(home: Path, gnupg_home: Path) -> dict[str, str]:
    """The inherited environment minus anything that could pick keys or config for sopskit."""
    dropped_prefixes = ("SOPS_", "SOPSKIT_", "AWS_", "GOOGLE_", "AZURE_", "VAULT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped_prefixes)}
    for name in ("GNUPGHOME", "XDG_CONFIG_HOME", "EDITOR", "VISUAL", "GPG_TTY"):
        env.pop(name, None)
    env.update({"HOME": str(home), "GNUPGHOME": str(gnupg_home), "LC_ALL": "C.UTF-8"})
    return env


@pytest.fixture(scope="session")
def functional_gnupg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private GNUPGHOME with the three functional-test keys (two secret, one public only)."""
    require(PGP_KEYS)
    require_tool("gpg")
    home = tmp_path_factory.mktemp("fgpg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--import", str(PGP_KEYS)], env=env, check=True,
                   capture_output=True, timeout=TIMEOUT_SECONDS)
    yield home
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False)


@pytest.fixture()
def sops(tmp_path: Path, functional_gnupg_home: Path) -> SopsRunner:
    """A fresh copy of the functional-tests directory and a runner bound to it."""
    source = require(FUNCTIONAL_TESTS_DIR)
    cwd = tmp_path / "functional-tests"
    shutil.copytree(source, cwd)
    for path in [cwd, *cwd.rglob("*")]:  # the shared copy is read-only; ours need not be
        path.chmod(0o755 if path.is_dir() else 0o644)
    tmp_dir = tmp_path / "sops-functional-tests"
    tmp_dir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    return SopsRunner(cwd=cwd, tmp_dir=tmp_dir, env=_clean_env(home, functional_gnupg_home))
