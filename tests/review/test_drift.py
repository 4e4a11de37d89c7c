"""``sopskit diff --cluster`` against the fake API server: per-key verdicts, exit codes, and a
fingerprint key that is new on every run."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

from sopskit.format.selection import SelectionRules
from sopskit.ops.encrypt import encrypt
from sopskit.review.drift import compare_secrets
from sopskit.review.fingerprint import Fingerprinter
from testing.k8s_server import ADMIN, FakeKubeServer, User
from tests.cli._support import SOPSKIT

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "live-Pa55-71ab3c"
USER = "db-user-0d9e"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKubeServer]:
    with FakeKubeServer(tokens={"admin-token": User("admin", ADMIN)}) as fake:
        yield fake


@pytest.fixture()
def setup(server: FakeKubeServer, tmp_path: Path) -> tuple[FakeKubeServer, Path, dict[str, str]]:
    server.reset()
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "age.txt"
    key_file.write_text(str(identity) + "\n")
    secret = tmp_path / "db.enc.yaml"
    secret.write_bytes(encrypt(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\n"
        f"data:\n  user: {__import__('base64').b64encode(USER.encode()).decode()}\n"
        f"stringData:\n  password: {PASSWORD}\n".encode(),
        format="yaml", age=[str(identity.to_public())], config=False,
        selection=SelectionRules(option="encrypted_regex", pattern="^(data|stringData)$")))
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", token="admin-token")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_", "KUBE"))}
    env.update(SOPS_AGE_KEY_FILE=str(key_file), KUBECONFIG=str(kubeconfig), PYTHONPATH=str(ROOT / "src"))
    return server, secret, env


def diff(secret: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SOPSKIT, "diff", "--cluster", str(secret), *extra], env=env, capture_output=True,
                          text=True, timeout=60)


def test_all_equal_exits_0(setup: tuple[FakeKubeServer, Path, dict[str, str]]) -> None:
    server, secret, env = setup
    server.add_secret("app", "db", {"user": USER.encode(), "password": PASSWORD.encode()})
    out = diff(secret, env, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["secrets"][0]["keys"] == {"password": "same", "user": "same"}


def test_each_difference_is_named_and_exits_1(setup: tuple[FakeKubeServer, Path, dict[str, str]]) -> None:
    server, secret, env = setup
    server.add_secret("app", "db", {"password": b"something-else", "token": b"live-only-token"})
    out = diff(secret, env)
    assert out.returncode == 1, out.stderr
    assert "password: differs" in out.stdout and "user: missing" in out.stdout and "token: extra" in out.stdout
    for value in (PASSWORD, USER, "something-else", "live-only-token"):
        assert value not in out.stdout + out.stderr


def test_absent_secret_exits_1(setup: tuple[FakeKubeServer, Path, dict[str, str]]) -> None:
    _server, secret, env = setup
    out = diff(secret, env, "--format", "json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["in_sync"] is False and report["secrets"][0]["live"] is False


def test_fingerprint_key_differs_per_run() -> None:
    assert Fingerprinter().digest(PASSWORD) != Fingerprinter().digest(PASSWORD)
    fixed = Fingerprinter()
    assert fixed.digest(PASSWORD) == fixed.digest(PASSWORD.encode())
    keys: list[bytes] = []

    def recording_rng(n: int) -> bytes:
        keys.append(os.urandom(n))
        return keys[-1]

    secret = {"kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "x"}}
    for _ in range(2):
        compare_secrets([secret], lambda _ns, _n: {"a": b"x"}, fingerprints=Fingerprinter(rng=recording_rng))
    assert len(keys) == 2 and keys[0] != keys[1]
    assert "key" not in repr(Fingerprinter()).replace("per-run key", "")


def test_each_comparison_makes_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import sopskit.review.drift as drift

    made: list[Fingerprinter] = []

    class Recording(Fingerprinter):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(drift, "Fingerprinter", Recording)
    secret = {"kind": "Secret", "metadata": {"name": "db"}, "stringData": {"a": "x"}}
    for _ in range(2):
        drift.compare_secrets([secret], lambda _ns, _n: {"a": b"x"})
    assert len(made) == 2 and made[0].digest("x") != made[1].digest("x")


def test_directory_is_built_then_compared(server: FakeKubeServer, tmp_path: Path) -> None:
    from tests.review._buildrepo import SECRETS, make_build_repo

    server.reset()
    repo = make_build_repo(tmp_path)
    server.add_secret("web", "web-resource", {"password": SECRETS["resource_secret"].encode()})
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", token="admin-token", context="staging")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_", "KUBE"))}
    env.update(SOPS_AGE_KEY_FILE=str(repo.key_file), PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([*SOPSKIT, "diff", "--cluster", "--kubeconfig", str(kubeconfig), "--context", "staging",
                          "apps/web", "--format", "json"], cwd=repo.root, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stdout, out.stderr
    report = {(s["namespace"], s["name"]): s for s in json.loads(out.stdout)["secrets"]}
    assert report[("web", "web-resource")]["keys"] == {"password": "same"}
    assert report[("web", "web-resource")]["in_sync"] is True
    assert report[("web", "regcred")]["live"] is False
    for value in SECRETS.values():
        assert value not in out.stdout + out.stderr


def test_an_error_never_exits_1(setup: tuple[FakeKubeServer, Path, dict[str, str]], tmp_path: Path) -> None:
    """Issue 15: 1 means "a difference"; a refused token or an unreachable cluster must not look like one."""
    server, secret, env = setup
    server.add_secret("app", "db", {"user": USER.encode(), "password": PASSWORD.encode()})
    refused = dict(env, KUBECONFIG=str(server.write_kubeconfig(tmp_path / "bad-kubeconfig", token="not-a-token")))
    out = diff(secret, refused)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert out.stdout == "" and "Traceback" not in out.stderr
    missing = diff(tmp_path / "no-such.yaml", env)
    assert missing.returncode == 2
