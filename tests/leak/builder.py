"""Builds, at test time, repositories where a leaked value hides in every corner git keeps.

The value is made up per test run (random), so no test can pass by matching a constant. Each
hiding place is recorded in :class:`LeakRepo` so a test can assert that ``leak`` names it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.keys.age import generate_identity
from sopskit.ops.encrypt import encrypt


def make_value() -> str:
    return "lk_" + secrets.token_hex(16)


class Git:
    """git with fixed, increasing dates so commits sort and reproduce."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tick = 0

    def __call__(self, *args: str, input: bytes | None = None) -> str:
        self.tick += 1
        date = f"2024-02-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
               "GIT_AUTHOR_NAME": "Dev One", "GIT_AUTHOR_EMAIL": "dev1@example.invalid",
               "GIT_COMMITTER_NAME": "Dev One", "GIT_COMMITTER_EMAIL": "dev1@example.invalid",
               "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.path)}
        proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, input=input,
                              env=env, check=True)
        return proc.stdout.decode().strip()

    def write(self, rel: str, text: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def commit(self, message: str, *paths: str) -> str:
        self("add", "-A", *paths)
        self("commit", "-q", "-m", message)
        return self("rev-parse", "HEAD")


def init_repo(path: Path) -> Git:
    path.mkdir(parents=True, exist_ok=True)
    g = Git(path)
    g("init", "-q", "-b", "main")
    g("config", "user.name", "Dev One")
    g("config", "user.email", "dev1@example.invalid")
    g("config", "gc.auto", "0")
    return g


@dataclass
class LeakRepo:
    path: Path
    value: str
    identity: str
    recipient: str
    logs: Path
    #: hiding place -> (path in the repo or None, blob id)
    places: dict[str, tuple[str | None, str]] = field(default_factory=dict)


def secret_manifest(name: str, value: str, namespace: str = "apps") -> str:
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: {namespace}\n"
            f"type: Opaque\nstringData:\n    API_TOKEN: {value}\n    USER: svc\n")


def sops_secret(name: str, value: str, recipient: str) -> str:
    plain = secret_manifest(name, value).encode()
    return encrypt(plain, format="yaml", age=[recipient], config=False,
                   selection=_data_only()).decode()


def _data_only():  # type: ignore[no-untyped-def]
    from sopskit.format.selection import SelectionRules

    return SelectionRules("encrypted_regex", "^(data|stringData)$")


def build_leak_repo(root: Path, value: str | None = None) -> LeakRepo:
    """One repository with the value in a deleted branch, a tag, a stash, an amended commit
    (reflog only), an unreachable blob and a SOPS file; plus a CI log directory."""
    value = value or make_value()
    identity, recipient = generate_identity()
    g = init_repo(root / "repo")
    leak = LeakRepo(g.path, value, identity, recipient, root / "ci-logs")
    g.write("README.md", "service config\n")
    g.write("deploy/app.yaml", "image: app:1\n")
    g.write(".gitignore", ".env\n")
    g.commit("initial")
    # a deleted branch
    g("checkout", "-q", "-b", "feature/tmp")
    g.write("deploy/feature.env", f"API_TOKEN={value}\n")
    g.commit("try the token")
    leak.places["deleted-branch"] = ("deploy/feature.env", g("rev-parse", "HEAD:deploy/feature.env"))
    g("checkout", "-q", "main")
    g("branch", "-D", "feature/tmp")
    # a tag on a side line that no branch contains
    g("checkout", "-q", "--detach")
    g.write("old/creds.txt", f"token: {value}  # old\n")
    g.commit("old creds")
    g("tag", "-a", "v0.1", "-m", "release")
    leak.places["tag"] = ("old/creds.txt", g("rev-parse", "HEAD:old/creds.txt"))
    g("checkout", "-q", "main")
    # an amended commit: the first version lives only in the reflog
    g.write("deploy/app.yaml", f"image: app:2\ntoken: {value}\n")
    g.commit("bump")
    leak.places["amended"] = ("deploy/app.yaml", g("rev-parse", "HEAD:deploy/app.yaml"))
    g.write("deploy/app.yaml", "image: app:2\n")
    g("add", "-A")
    g("commit", "-q", "--amend", "-m", "bump")
    # a stash entry (not the top one)
    g.write("README.md", f"service config\ndebug {value}\n")
    g("stash", "-q")
    leak.places["stash"] = ("README.md", g("rev-parse", "stash@{0}:README.md"))
    g.write("README.md", "service config\nunrelated\n")
    g("stash", "-q")
    # an unreachable object: written, never committed, not in the index
    blob = g("hash-object", "-w", "--stdin", input=f"scratch {value}\n".encode())
    leak.places["unreachable"] = (None, blob)
    # a SOPS file: the value only inside ciphertext
    g.write("secrets/api.yaml", sops_secret("api", value, recipient))
    g.commit("encrypted api secret")
    leak.places["sops"] = ("secrets/api.yaml", g("rev-parse", "HEAD:secrets/api.yaml"))
    # an ignored file in the work tree of this clone
    g.write(".env", f"API_TOKEN={value}\n")
    # CI logs
    leak.logs.mkdir(parents=True, exist_ok=True)
    (leak.logs / "job-1.log").write_text("step 1 ok\n")
    (leak.logs / "build" / "job-2.log").parent.mkdir(parents=True, exist_ok=True)
    (leak.logs / "build" / "job-2.log").write_text(f"+ curl -H 'Authorization: {value}'\n")
    return leak
