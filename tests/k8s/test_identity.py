"""``--from-cluster`` and the ``cluster`` commands through the real entry point.

The identity must travel from the API server into memory only: after each command, its
bytes are searched for in the repository, ``$HOME`` and the temp directories.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sopskit.errors import ClusterError
from sopskit.k8s.agesecret import (
    AGEKEY_DATA_KEY,
    SecretRef,
    format_agekey,
    identities_in,
    parse_agekey,
)
from sopskit.k8s.identity import fetch_identities, secret_ref_from_env
from sopskit.keys.age import generate_identity, public_key_of
from sopskit.ops.encrypt import encrypt
from testing.k8s_server import FakeKubeServer

SOPSKIT = [sys.executable, "-m", "sopskit"]
NS, NAME = "flux-system", "sops-age"
PLAIN = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: from-cluster-7\n"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "KUBECONFIG"))}
    env["HOME"] = str(home)
    return env


def _run(args: list[str], *, cwd: Path, home: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], cwd=cwd, env=_env(home), capture_output=True, timeout=120)


def _files_containing(needle: bytes, *roots: Path) -> list[Path]:
    hits = []
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                try:
                    if path.is_file() and needle in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    return hits


def _search_roots(*extra: Path) -> list[Path]:
    roots = [*extra, Path(tempfile.gettempdir())]
    roots += [Path(p) for p in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR", "")) if p and Path(p).is_dir()]
    return roots


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _commit(root: Path) -> None:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True, capture_output=True)


# -- the Secret's format -------------------------------------------------------------------------

def test_agekey_format_round_trip() -> None:
    a, b = generate_identity()[0], generate_identity()[0]
    assert parse_agekey(format_agekey([a, b])) == [a, b]
    assert parse_agekey(f"# created: today\n\n{a}\r\n  {b}  \n".encode()) == [a, b]
    data = {"other.agekey": format_agekey([b]), AGEKEY_DATA_KEY: format_agekey([a]), "ignored": b"x"}
    assert identities_in(data) == [a, b]


def test_secret_ref_from_env() -> None:
    assert secret_ref_from_env({}) == SecretRef(NS, NAME)
    assert secret_ref_from_env({"SOPSKIT_CLUSTER_NAMESPACE": "ops", "SOPSKIT_CLUSTER_SECRET": "k"}) == (
        SecretRef("ops", "k"))


# -- fetch_identities ----------------------------------------------------------------------------

def test_fetch_identities(k8s_server: FakeKubeServer, kubeconfig_readonly: Path) -> None:
    a, b = generate_identity()[0], generate_identity()[0]
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([a, b])})
    assert fetch_identities(kubeconfig=str(kubeconfig_readonly)) == [a, b]
    methods = {(r.method, r.resource) for r in k8s_server.requests}
    assert methods == {("GET", "secrets")}  # read-only access is enough


def test_fetch_identities_missing_secret(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    with pytest.raises(ClusterError, match="no Secret flux-system/sops-age") as info:
        fetch_identities(kubeconfig=str(kubeconfig_admin))
    assert "cluster init" in (info.value.hint or "")


def test_fetch_identities_empty_secret(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_secret(NS, NAME, {"readme.txt": b"no keys here"})
    with pytest.raises(ClusterError, match="holds no age identity"):
        fetch_identities(kubeconfig=str(kubeconfig_admin))


# -- the command line ----------------------------------------------------------------------------

def test_decrypt_from_cluster(tmp_path: Path, home: Path, k8s_server: FakeKubeServer,
                              kubeconfig_readonly: Path) -> None:
    identity, recipient = generate_identity()
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([identity])})
    enc = tmp_path / "db.yaml"
    enc.write_bytes(encrypt(PLAIN, format="yaml", age=[recipient], config=False))
    proc = _run(["decrypt", "--from-cluster", "--kubeconfig", str(kubeconfig_readonly), str(enc)],
                cwd=tmp_path, home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == PLAIN
    assert identity.encode() not in proc.stderr
    assert not _files_containing(identity.encode(), *_search_roots(tmp_path, home))


def test_decrypt_from_cluster_without_secret_fails_cleanly(
    tmp_path: Path, home: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    recipient = generate_identity()[1]
    enc = tmp_path / "db.yaml"
    enc.write_bytes(encrypt(PLAIN, format="yaml", age=[recipient], config=False))
    proc = _run(["decrypt", "--from-cluster", "--kubeconfig", str(kubeconfig_admin), str(enc)],
                cwd=tmp_path, home=home)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert "no Secret flux-system/sops-age" in err and "Traceback" not in err
    assert b"from-cluster-7" not in proc.stdout


def test_cluster_init_cli_prints_key_once(repo: Path, home: Path, k8s_server: FakeKubeServer,
                                          kubeconfig_admin: Path) -> None:
    proc = _run(["cluster", "init", "--kubeconfig", str(kubeconfig_admin),
                 "--path-regex", "^flux/secrets/prod/"], cwd=repo, home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("AGE-SECRET-KEY-1")
    identity = lines[0]
    assert identity.encode() not in proc.stderr
    assert "password manager" in proc.stderr.decode()
    data = k8s_server.secret_data(NS, NAME)
    assert data is not None and parse_agekey(data[AGEKEY_DATA_KEY]) == [identity]
    assert public_key_of(identity) in (repo / ".sops.yaml").read_text()
    assert not _files_containing(identity.encode(), *_search_roots(repo, home))

    again = _run(["cluster", "init", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=home)
    assert again.returncode != 0 and b"already exists" in again.stderr and again.stdout == b""

    verify = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=home)
    assert verify.returncode == 1 and "files checked: 0" in verify.stdout.decode()  # nothing under the rule yet
    secret_file = repo / "flux/secrets/prod/db.yaml"
    secret_file.parent.mkdir(parents=True)
    secret_file.write_bytes(encrypt(PLAIN, format="yaml", age=[public_key_of(identity)], config=False))
    _commit(repo)
    verify = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin)], cwd=repo, home=home)
    assert verify.returncode == 0, verify.stdout.decode()
    assert identity.encode() not in verify.stdout + verify.stderr

    rotated = _run(["cluster", "init", "--force", "--kubeconfig", str(kubeconfig_admin),
                    "--path-regex", "^flux/secrets/prod/"], cwd=repo, home=home)
    assert rotated.returncode == 0, rotated.stderr.decode()
    new_identity = rotated.stdout.decode().strip()
    assert new_identity.startswith("AGE-SECRET-KEY-1") and new_identity != identity
    assert "commit and push" in rotated.stderr.decode()
    data = k8s_server.secret_data(NS, NAME)
    assert data is not None and parse_agekey(data[AGEKEY_DATA_KEY]) == [identity, new_identity]
    for _ in range(2):  # the two pauses: commit (no Flux here), resume
        _commit(repo)
        resumed = _run(["cluster", "init", "--force", "--resume", "--no-wait-for-flux", "--kubeconfig",
                        str(kubeconfig_admin), "--path-regex", "^flux/secrets/prod/"], cwd=repo, home=home)
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert resumed.stdout == b""  # the key was printed once, by the first run
    data = k8s_server.secret_data(NS, NAME)
    assert data is not None and parse_agekey(data[AGEKEY_DATA_KEY]) == [new_identity]
    assert not _files_containing(new_identity.encode(), *_search_roots(repo, home))


def test_cluster_init_cli_read_only_is_clean(repo: Path, home: Path, k8s_server: FakeKubeServer,
                                             kubeconfig_readonly: Path) -> None:
    k8s_server.add_namespace(NS)
    proc = _run(["cluster", "init", "--kubeconfig", str(kubeconfig_readonly)], cwd=repo, home=home)
    assert proc.returncode != 0
    assert proc.stdout == b""  # no key printed for a Secret that was never stored
    assert "Traceback" not in proc.stderr.decode()
    assert not (repo / ".sops.yaml").exists()
    assert k8s_server.secret_data(NS, NAME) is None


def test_cluster_verify_cli_reports_mismatch(repo: Path, home: Path, k8s_server: FakeKubeServer,
                                             kubeconfig_admin: Path) -> None:
    identity = generate_identity()[0]
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([identity])})
    stranger = generate_identity()[1]
    (repo / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: ^flux/secrets/prod/\n    age: {stranger}\n")
    proc = _run(["cluster", "verify", "--kubeconfig", str(kubeconfig_admin),
                 "--path-regex", "^flux/secrets/prod/"], cwd=repo, home=home)
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert f"does not list the cluster recipient {public_key_of(identity)}" in out
    assert identity not in out + proc.stderr.decode()


def test_cluster_init_outside_git_repo(tmp_path: Path, home: Path, k8s_server: FakeKubeServer,
                                       kubeconfig_admin: Path) -> None:
    bare = tmp_path / "not-a-repo"
    bare.mkdir()
    proc = _run(["cluster", "init", "--kubeconfig", str(kubeconfig_admin)], cwd=bare, home=home)
    assert proc.returncode != 0 and b"not inside a Git repository" in proc.stderr
    assert k8s_server.secret_data(NS, NAME) is None


def test_edit_from_cluster(tmp_path: Path, home: Path, k8s_server: FakeKubeServer,
                           kubeconfig_readonly: Path) -> None:
    """`edit --from-cluster`: the identity comes from the Secret, the edit is re-encrypted for
    the same recipient, and neither the identity nor the new plaintext lands in any file."""
    import secrets as _secrets

    identity, recipient = generate_identity()
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([identity])})
    enc = tmp_path / "db.yaml"
    enc.write_bytes(encrypt(PLAIN, format="yaml", age=[recipient], config=False))
    new_value = "edited-" + _secrets.token_hex(8)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import os, sys\n"
        "p = sys.argv[-1]\n"
        "t = open(p).read().replace('from-cluster-7', os.environ['NEW_VALUE'])\n"
        "open(p, 'w').write(t)\n"
    )
    env = {**_env(home), "EDITOR": f"{sys.executable} {editor}", "NEW_VALUE": new_value}
    proc = subprocess.run([*SOPSKIT, "edit", "--from-cluster", "--kubeconfig", str(kubeconfig_readonly), str(enc)],
                          cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    data = enc.read_bytes()
    assert new_value.encode() not in data and recipient.encode() in data
    out = _run(["decrypt", "--from-cluster", "--kubeconfig", str(kubeconfig_readonly), str(enc)],
               cwd=tmp_path, home=home)
    assert new_value.encode() in out.stdout
    for needle in (identity.encode(), new_value.encode()):
        assert not _files_containing(needle, *_search_roots(tmp_path, home))
