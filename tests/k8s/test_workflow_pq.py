"""`cluster init --pq` and the classical -> post-quantum migration (`cluster init --force
--pq`) through the real command line against the fake API server; `cluster verify` with
both key types."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.config import load_config
from sopskit.k8s.agesecret import AGEKEY_DATA_KEY, parse_agekey
from sopskit.keys.age import public_key_of
from sopskit.ops.encrypt import encrypt
from sopskit.ops.rulefiles import age_recipients_of, check_decryptable, read_metadata
from testing.k8s_server import FakeKubeServer

SOPSKIT = [sys.executable, "-m", "sopskit"]
NS, NAME = "flux-system", "sops-age"
REGEX = "^flux/secrets/prod/"
PLAIN = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: pq-migration-9\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def _run(args: list[str], *, cwd: Path, home: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "KUBECONFIG"))}
    env["HOME"] = str(home)
    return subprocess.run([*SOPSKIT, *args], cwd=cwd, env=env, capture_output=True, timeout=120)


def _held(server: FakeKubeServer) -> list[str]:
    data = server.secret_data(NS, NAME)
    assert data is not None
    return parse_agekey(data[AGEKEY_DATA_KEY])


def _secret_files(repo: Path, count: int = 2) -> list[Path]:
    config = load_config(repo / ".sops.yaml")
    paths = []
    for n in range(count):
        path = repo / "flux/secrets/prod" / f"s{n}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encrypt(PLAIN, format="yaml", path=path, config=config))
        paths.append(path)
    return paths


def test_init_pq_creates_a_post_quantum_cluster_key(repo: Path, tmp_path: Path, k8s_server: FakeKubeServer,
                                                    kubeconfig_admin: Path) -> None:
    proc = _run(["cluster", "init", "--pq", "--kubeconfig", str(kubeconfig_admin), "--path-regex", REGEX],
                cwd=repo, home=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    identity = proc.stdout.decode().strip()
    assert identity.startswith("AGE-SECRET-KEY-PQ-1") and identity.encode() not in proc.stderr
    assert _held(k8s_server) == [identity]
    recipient = public_key_of(identity)
    assert recipient.startswith("age1pq1") and recipient in (repo / ".sops.yaml").read_text()
    files = _secret_files(repo)
    assert all(check_decryptable(p, [identity]) is None for p in files)
    verify = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=tmp_path)
    assert verify.returncode == 0, verify.stdout.decode()
    assert "post-quantum (mlkem768x25519)" in verify.stdout.decode()
    assert identity.encode() not in verify.stdout + verify.stderr

    # a plain --force rotation keeps the post-quantum type: no silent downgrade
    rotated = _run(["cluster", "init", "--force", "--kubeconfig", str(kubeconfig_admin), "--path-regex", REGEX],
                   cwd=repo, home=tmp_path)
    assert rotated.returncode == 0, rotated.stderr.decode()
    assert rotated.stdout.decode().strip().startswith("AGE-SECRET-KEY-PQ-1")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


@pytest.fixture()
def pushed_repo(tmp_path: Path) -> Path:
    """A work tree with an upstream (rotation pauses until its files are pushed)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    root = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(remote), str(root)], check=True, capture_output=True)
    _git(root, "checkout", "-q", "-b", "main")
    (root / ".sops.yaml").write_text("creation_rules: []\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    _git(root, "push", "-q", "-u", "origin", "main")
    return root


def _push(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    _git(root, "push", "-q")


def test_classical_to_post_quantum_migration(pushed_repo: Path, tmp_path: Path, k8s_server: FakeKubeServer,
                                             kubeconfig_admin: Path) -> None:
    repo = pushed_repo
    kube = ["--kubeconfig", str(kubeconfig_admin), "--path-regex", REGEX]
    first = _run(["cluster", "init", *kube], cwd=repo, home=tmp_path)
    assert first.returncode == 0, first.stderr.decode()
    old = first.stdout.decode().strip()
    assert old.startswith("AGE-SECRET-KEY-1")
    files = _secret_files(repo)
    _push(repo, "secrets")
    verify = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=tmp_path)
    assert verify.returncode == 0 and "is X25519" in verify.stdout.decode(), verify.stdout.decode()

    # run 1: the post-quantum key joins; every file opens with EACH key alone; pause for the push
    migrated = _run(["cluster", "init", "--force", "--pq", *kube], cwd=repo, home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr.decode()
    new = migrated.stdout.decode().strip()
    assert new.startswith("AGE-SECRET-KEY-PQ-1")
    assert sorted(_held(k8s_server)) == sorted([old, new])
    for path in files:
        assert check_decryptable(path, [new]) is None
        assert check_decryptable(path, [old]) is None
    _push(repo, "rotation: both keys")
    # run 2: the classical recipient leaves the rules and the files (new data keys); pause again
    second = _run(["cluster", "init", "--force", "--resume", "--no-wait-for-flux", *kube], cwd=repo, home=tmp_path)
    assert second.returncode == 0, second.stderr.decode()
    _push(repo, "rotation: new key only")
    # run 3: the cluster drops the classical key
    third = _run(["cluster", "init", "--force", "--resume", "--no-wait-for-flux", *kube], cwd=repo, home=tmp_path)
    assert third.returncode == 0, third.stderr.decode()
    assert _held(k8s_server) == [new]
    for path in files:
        assert age_recipients_of(read_metadata(path)) == [public_key_of(new)]
        assert check_decryptable(path, [new]) is None
        assert check_decryptable(path, [old]) is not None  # the classical key is gone from the file
    text = (repo / ".sops.yaml").read_text()
    assert public_key_of(new) in text and public_key_of(old) not in text
    verify = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=tmp_path)
    assert verify.returncode == 0, verify.stdout.decode()


def test_decrypt_from_cluster_with_classical_and_pq_identities_in_the_secret(
    tmp_path: Path, k8s_server: FakeKubeServer, kubeconfig_readonly: Path
) -> None:
    """The sops-age Secret may hold both key types (as during a --pq migration), in one
    ``age.agekey`` or in several ``*.agekey`` keys, as Flux reads them."""
    from sopskit.k8s.agesecret import format_agekey
    from sopskit.keys.age import generate_identity

    x_id, _ = generate_identity()
    pq_id, pq_rec = generate_identity(pq=True)
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([x_id]), "pq.agekey": format_agekey([pq_id])})
    enc = tmp_path / "db.yaml"
    enc.write_bytes(encrypt(PLAIN, format="yaml", age=[pq_rec], config=False))
    proc = _run(["decrypt", "--from-cluster", "--kubeconfig", str(kubeconfig_readonly), str(enc)],
                cwd=tmp_path, home=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == PLAIN and pq_id.encode() not in proc.stderr
