"""Shared machinery for the CLI red-team tests: throwaway keys, encrypted fixtures with
unique plaintext markers, the table of commands, and the one verdict every run must pass.

Every run goes through the real entry point (``python -m sopskit`` in a subprocess) with an
isolated environment, so what is checked is exactly what a user sees on the terminal.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.keys.age import generate_identity

ROOT = Path(__file__).resolve().parents[2]
SOPSKIT = [sys.executable, "-m", "sopskit"]
STORES = ("yaml", "json", "dotenv", "ini", "binary")
EXTENSIONS = {"yaml": "yaml", "json": "json", "dotenv": "env", "ini": "ini", "binary": "bin"}
#: failures the rules forbid whatever the input
FORBIDDEN_OUTPUT = (b"Traceback", b"unexpected internal error")


def new_marker(tag: str) -> str:
    """A plaintext value unique enough that finding it in output proves a leak."""
    return f"LEAK{tag.upper()}{secrets.token_hex(8)}"


@dataclass
class Keys:
    identity: str
    recipient: str


@dataclass
class Fixture:
    """One encrypted file of one store, plus what it must decrypt to."""

    store: str
    path: Path
    markers: list[str]
    #: a path that exists in the document, for --extract, set and unset
    tree_path: str
    encrypted: bytes = field(default=b"")


def new_keys() -> Keys:
    identity, recipient = generate_identity()
    return Keys(identity, recipient)


def base_env(home: Path, keys: Keys | None, **extra: str) -> dict[str, str]:
    """Clean environment: HOME isolated, no inherited SOPS_*; the identity only via SOPS_AGE_KEY."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "SOPSKIT_", "GNUPGHOME", "EDITOR", "VISUAL"))}
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT / "src"), "EDITOR": "true", "CI": ""})
    env.pop("XDG_CONFIG_HOME", None)
    if keys is not None:
        env["SOPS_AGE_KEY"] = keys.identity
    env.update(extra)
    return env


def run(args: list[str], *, env: dict[str, str], cwd: Path, stdin: bytes | None = b"",
        timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], env=env, cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout, check=False)


def plaintext_for(store: str, markers: list[str]) -> tuple[bytes, str]:
    """A plaintext document of ``store`` holding ``markers``, and a tree path inside it."""
    a, b, c = markers
    if store == "yaml":
        return f"a: {a}\nnested:\n  b: {b}\nlist:\n  - {c}\n  - 7\n".encode(), '["a"]'
    if store == "json":
        return json.dumps({"a": a, "nested": {"b": b}, "list": [c, 7]}).encode(), '["a"]'
    if store == "dotenv":
        return f"A={a}\nB={b}\nC={c}\n".encode(), '["A"]'
    if store == "ini":
        return f"[s]\na = {a}\nb = {b}\n[t]\nc = {c}\n".encode(), '["s"]["a"]'
    return f"{a}\n{b}\n{c}\n".encode(), '["data"]'


def make_fixture(store: str, directory: Path, keys: Keys, env: dict[str, str]) -> Fixture:
    """Encrypt a fresh document of ``store`` with sopskit itself."""
    markers = [new_marker(f"{store}{i}") for i in range(3)]
    plain, tree_path = plaintext_for(store, markers)
    path = directory / f"secret.enc.{EXTENSIONS[store]}"
    src = directory / f"plain.{EXTENSIONS[store]}"
    src.write_bytes(plain)
    out = run(["encrypt", "--age", keys.recipient, "--input-type", store, "--output-type", store,
               str(src)], env=env, cwd=directory)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    src.unlink()
    path.write_bytes(out.stdout)
    return Fixture(store, path, markers, tree_path, out.stdout)


@dataclass(frozen=True)
class Command:
    """One CLI invocation against a file.

    ``prints_plaintext``: printing the markers on stdout is the command's job (when it exits 0).
    ``must_fail``: on a corrupt encrypted file the command cannot succeed (it has to decrypt).
    """

    name: str
    argv: Callable[[Fixture, Path, Keys], list[str]]
    prints_plaintext: bool = False
    must_fail: bool = True
    #: exit codes that mean "worked" (edit: 200 is sops's "file has not changed")
    ok_codes: frozenset[int] = frozenset({0})


def _store_flags(fx: Fixture) -> list[str]:
    return ["--input-type", fx.store]


COMMANDS: tuple[Command, ...] = (
    Command("decrypt", lambda fx, p, k: ["decrypt", *_store_flags(fx), str(p)], prints_plaintext=True),
    Command("decrypt-extract",
            lambda fx, p, k: ["decrypt", *_store_flags(fx), "--extract", fx.tree_path, str(p)],
            prints_plaintext=True),
    Command("encrypt-in-place",
            lambda fx, p, k: ["encrypt", *_store_flags(fx), "--age", k.recipient, "-i", str(p)],
            must_fail=False),
    Command("set", lambda fx, p, k: ["set", *_store_flags(fx), str(p), fx.tree_path, '"replacement"']),
    Command("unset", lambda fx, p, k: ["unset", *_store_flags(fx), str(p), fx.tree_path]),
    Command("rotate", lambda fx, p, k: ["rotate", *_store_flags(fx), "-i", str(p)]),
    # like sops, updatekeys re-wraps the data key without reading values or the MAC
    Command("updatekeys", lambda fx, p, k: ["updatekeys", *_store_flags(fx), "-y", str(p)], must_fail=False),
    Command("filestatus", lambda fx, p, k: ["filestatus", *_store_flags(fx), str(p)], must_fail=False),
    Command("exec-env", lambda fx, p, k: ["exec-env", *_store_flags(fx), str(p), "true"]),
    Command("exec-file", lambda fx, p, k: ["exec-file", *_store_flags(fx), "--no-fifo", str(p), "true"]),
    Command("edit", lambda fx, p, k: ["edit", *_store_flags(fx), str(p)], ok_codes=frozenset({0, 200})),
    # textconv prints a file it cannot decrypt as it is, so git diff keeps working
    Command("git-textconv", lambda fx, p, k: ["git", "textconv", *_store_flags(fx), str(p)],
            prints_plaintext=True, must_fail=False),
    Command("scan", lambda fx, p, k: ["scan", str(p)], must_fail=False),
    Command("policy-check", lambda fx, p, k: ["policy", "check", str(p.parent)], must_fail=False),
    Command("flux-validate", lambda fx, p, k: ["flux", "validate", str(p.parent)], must_fail=False),
)
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}
#: commands that must read and decrypt the file, so they see every corruption
DECRYPTING = tuple(c.name for c in COMMANDS if c.must_fail)


def sops_yaml(recipient: str) -> str:
    return f"creation_rules:\n  - age: {recipient}\n"


def verdict(result: subprocess.CompletedProcess[bytes], *, command: Command, markers: list[str],
            before: bytes | None, path: Path | None, corrupt: bool) -> list[str]:
    """Every rule the run broke, as readable lines (empty: the run was fine).

    ``corrupt``: the input is known to be unusable, so a decrypting command must fail.
    ``before``: the file's bytes before the run; a failed run must leave them unchanged.
    """
    problems: list[str] = []
    err, out = result.stderr, result.stdout
    for bad in FORBIDDEN_OUTPUT:
        if bad in err or bad in out:
            problems.append(f"{bad.decode()!r} in output: {err[-400:]!r}")
    lines = [line for line in err.decode(errors="replace").splitlines()
             # the data-key report lists what each key group said, one indented line each (as sops)
             if not line.startswith("  group ")]
    if len(lines) > 2:
        problems.append(f"stderr has {len(lines)} lines: {err[:400]!r}")
    if len(lines) == 2 and not lines[1].startswith("hint:"):
        problems.append(f"second stderr line is not a hint: {lines[1][:200]!r}")
    if result.returncode != 0 and not lines and command.must_fail:  # scan/policy report on stdout
        problems.append(f"exit {result.returncode} with nothing on stderr")
    for marker in markers:
        if marker.encode() in err:
            problems.append(f"plaintext marker leaked on stderr: {err[:400]!r}")
        if marker.encode() in out and not (command.prints_plaintext and result.returncode == 0):
            problems.append(f"plaintext marker on stdout (exit {result.returncode})")
    if corrupt and command.must_fail and result.returncode in command.ok_codes:
        problems.append("exit 0 on a corrupt file")
    if before is not None and path is not None and result.returncode not in command.ok_codes:
        now = path.read_bytes() if path.is_file() else None
        if now != before:
            problems.append("file changed although the command failed")
    return problems
