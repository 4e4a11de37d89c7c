"""Helpers for the CLI scenario tests: run the real entry point in a subprocess with an
isolated environment and throwaway age keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyrage

ROOT = Path(__file__).resolve().parents[2]
SOPSKIT = [sys.executable, "-m", "sopskit"]
SOPSKIT_SCRIPT = Path(sys.executable).with_name("sopskit")


@dataclass
class AgeKey:
    identity: str
    recipient: str
    key_file: Path


def new_age_key(directory: Path, name: str = "key") -> AgeKey:
    identity = pyrage.x25519.Identity.generate()
    key_file = directory / f"{name}.txt"
    key_file.write_text(str(identity) + "\n")
    key_file.chmod(0o600)
    return AgeKey(str(identity), str(identity.to_public()), key_file)


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: HOME isolated, no inherited SOPS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_", "GNUPGHOME"))}
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT / "src")})
    env.pop("XDG_CONFIG_HOME", None)
    env.update(extra)
    return env


def run(args: list[str], *, env: dict[str, str], cwd: Path | None = None, stdin: bytes | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], env=env, cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout)


def encrypt_json(plain: dict[str, object], path: Path, recipient: str, env: dict[str, str]) -> Path:
    src = path.with_name(path.name + ".plain.json")
    src.write_text(json.dumps(plain))
    out = run(["encrypt", "--age", recipient, "--filename-override", str(path), str(src)], env=env)
    assert out.returncode == 0, out.stderr.decode()
    src.unlink()
    path.write_bytes(out.stdout)
    return path


def decrypt(path: Path, env: dict[str, str], *extra: str) -> bytes:
    out = run(["decrypt", *extra, str(path)], env=env)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def enc_values(path: Path) -> dict[str, str]:
    """Every ENC[...] string of a JSON SOPS file by its dotted key path (metadata excluded)."""
    data = json.loads(path.read_text())
    data.pop("sops", None)
    out: dict[str, str] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{prefix}[{i}]")
        elif isinstance(node, str):
            out[prefix] = node

    walk(data, "")
    return out
