"""Helpers for the hostile-input and fault tests: run the real CLI in a subprocess with a
hard memory cap, no core files and a generous timeout, so an unbounded input fails the test
instead of the machine."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

from tests.cli._support import SOPSKIT, AgeKey, base_env, new_age_key

__all__ = ["MEMORY_CAP", "Env", "limit_child", "run_limited", "sopskit_cmd"]

#: address-space cap for one sopskit process; far above what a bounded run needs (~100 MB)
MEMORY_CAP = 1536 * 1024 * 1024


def limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def sopskit_cmd(*args: str) -> list[str]:
    return [*SOPSKIT, *args]


def run_limited(args: list[str], *, env: dict[str, str], cwd: Path | None = None,
                stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``sopskit ARGS``; raises ``TimeoutExpired`` (a failed test) if it hangs."""
    return subprocess.run(sopskit_cmd(*args), env=env, cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout, preexec_fn=limit_child)


class Env:
    """One throwaway age key and the environment that finds it."""

    def __init__(self, directory: Path) -> None:
        home = directory / "home"
        home.mkdir(exist_ok=True)
        self.key: AgeKey = new_age_key(directory)
        self.env = base_env(home, SOPS_AGE_KEY_FILE=str(self.key.key_file))

    def with_(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def encrypt(self, plain: bytes, path: Path, *extra: str) -> Path:
        """Write ``plain`` encrypted to ``path`` (its suffix chooses the store)."""
        src = path.with_name("plain-" + path.name)
        src.write_bytes(plain)
        out = run_limited(["encrypt", "--age", self.key.recipient, *extra, str(src)], env=self.env)
        assert out.returncode == 0, out.stderr.decode()
        src.unlink()
        path.write_bytes(out.stdout)
        return path

    def decrypt(self, path: Path, *extra: str) -> bytes:
        out = run_limited(["decrypt", *extra, str(path)], env=self.env)
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout
