"""Rotation against a Git remote and Flux status, and the four false-ok paths of ``cluster verify``.

The invariant checked at every step: a checkout of the pushed revision (what Flux pulls) opens
with the identities the cluster holds at that moment (read from the fake server's own state).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.config import load_config
from sopskit.doctor.wiring import CONTROLLER_ACCOUNT
from sopskit.errors import SopsError
from sopskit.k8s.agesecret import AGEKEY_DATA_KEY, connect_client, parse_agekey
from sopskit.k8s.errors import RotationPausedError
from sopskit.k8s.workflow import init_cluster_key, verify_cluster_key
from sopskit.keys.age import generate_identity, public_key_of
from sopskit.keys.base import KeyContext
from sopskit.ops.document import open_document, read_encrypted
from sopskit.ops.encrypt import encrypt
from sopskit.ops.rulefiles import check_decryptable, check_decryptable_bytes, is_sops
from sopskit.stores import get_store
from testing.k8s_server import FakeKubeServer, Rule, User

NS, NAME = "flux-system", "sops-age"
PROD, STAGING = "^flux/secrets/prod/", "^flux/secrets/staging/"
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\nstringData:\n    password: {value}\n"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True, capture_output=True, text=True,
    )
    return done.stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
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


def _client(kubeconfig: Path):  # type: ignore[no-untyped-def]
    return connect_client(kubeconfig=str(kubeconfig))


def _held(server: FakeKubeServer) -> list[str]:
    data = server.secret_data(NS, NAME)
    assert data is not None
    return parse_agekey(data[AGEKEY_DATA_KEY])


def _write(root: Path, rel: str, value: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encrypt(SECRET.format(name=path.stem, value=value).encode(), format="yaml", path=path,
                             config=load_config(root / ".sops.yaml")))
    return path


def _pushed_files(root: Path) -> dict[str, bytes]:
    """The SOPS files of origin/main: what Flux pulls."""
    _git(root, "fetch", "-q")
    names = _git(root, "ls-tree", "-r", "--name-only", "origin/main").splitlines()
    out = {}
    for name in names:
        data = subprocess.run(["git", "-C", str(root), "show", f"origin/main:{name}"], check=True,
                              capture_output=True).stdout
        if is_sops(data):
            out[name] = data
    return out


def _assert_pushed_opens(root: Path, server: FakeKubeServer) -> None:
    files = _pushed_files(root)
    assert files
    held = _held(server)
    for name, data in files.items():
        assert check_decryptable_bytes(name, data, held) is None, f"{name} as pushed does not open in the cluster"


def _push(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    _git(root, "push", "-q")
    return _git(root, "rev-parse", "HEAD")


def _flux_applied(server: FakeKubeServer, sha: str) -> None:
    server.set_kustomization_status(NS, "apps", {
        "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}],
        "lastAppliedRevision": f"main@sha1:{sha}",
    })


def _resume(root: Path, kubeconfig: Path, **kw: object):  # type: ignore[no-untyped-def]
    return init_cluster_key(root, client=_client(kubeconfig), path_regex=PROD, force=True, resume=True,
                            **kw)  # type: ignore[arg-type]


def test_rotation_waits_for_push_and_flux_and_never_strands_a_pushed_file(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sopskit.k8s import workflow

    client = _client(kubeconfig_admin)
    writes: list[int] = []
    real_write = workflow.write_identities

    def write_and_check(*a: object, **k: object) -> None:  # every Secret write of the rotation
        real_write(*a, **k)  # type: ignore[arg-type]
        writes.append(len(_held(k8s_server)))
        _assert_pushed_opens(repo, k8s_server)

    monkeypatch.setattr(workflow, "write_identities", write_and_check)
    first = init_cluster_key(repo, client=client, path_regex=PROD)
    # a second rule listing the same cluster key (issue path 1): it must be rotated too
    text = (repo / ".sops.yaml").read_text()
    (repo / ".sops.yaml").write_text(text + f"  - path_regex: {STAGING}\n    age: {first.recipient}\n")
    files = [_write(repo, f"flux/secrets/{env}/{n}.yaml", f"pw-{env}-{n}") for env in ("prod", "staging")
             for n in ("db", "api")]
    sha0 = _push(repo, "secrets")
    k8s_server.add_kustomization(NS, "apps", {"path": "./flux/secrets", "decryption": {
        "provider": "sops", "secretRef": {"name": NAME}}})
    k8s_server.add_token("controller-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    _flux_applied(k8s_server, sha0)
    _assert_pushed_opens(repo, k8s_server)

    started = init_cluster_key(repo, client=client, path_regex=PROD, force=True)
    assert started.paused == "pushed_both" and started.identity
    assert set(started.rules) == {PROD, STAGING}
    new_identity = started.identity
    assert sorted(_held(k8s_server)) == sorted([first.identity, new_identity])
    _assert_pushed_opens(repo, k8s_server)
    for path in files:  # locally: both keys open every file, including the other rule's
        assert check_decryptable(path, [new_identity]) is None and check_decryptable(path, [first.identity]) is None

    with pytest.raises(RotationPausedError, match="commit"):
        _resume(repo, kubeconfig_admin)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "rotation 1")
    with pytest.raises(RotationPausedError, match="push"):
        _resume(repo, kubeconfig_admin)
    _git(repo, "push", "-q")
    sha1 = _git(repo, "rev-parse", "HEAD")
    _assert_pushed_opens(repo, k8s_server)
    with pytest.raises(RotationPausedError, match="waiting for Flux"):
        _resume(repo, kubeconfig_admin)
    _flux_applied(k8s_server, sha1)
    second = _resume(repo, kubeconfig_admin)
    assert second.paused == "pushed_new" and second.identity == ""  # the key was shown once already
    assert sorted(_held(k8s_server)) == sorted([first.identity, new_identity])  # still both
    _assert_pushed_opens(repo, k8s_server)
    for path in files:
        assert check_decryptable(path, [first.identity]) is not None  # the old key left every file

    sha2 = _push(repo, "rotation 2")
    _assert_pushed_opens(repo, k8s_server)
    with pytest.raises(RotationPausedError, match="waiting for Flux"):
        _resume(repo, kubeconfig_admin)
    _flux_applied(k8s_server, sha2)
    done = _resume(repo, kubeconfig_admin)
    assert done.paused is None
    assert _held(k8s_server) == [new_identity]
    _assert_pushed_opens(repo, k8s_server)
    assert writes == [2, 1]  # both identities at pause 1, the new one alone at the end: each write checked
    assert verify_cluster_key(repo, client=client).ok

    # issue path 4: the leaked old identity plus the old key record from Git history opens
    # nothing written by the rotation, nor anything written after it
    late = _write(repo, "flux/secrets/prod/late.yaml", "pw-late")
    for path in [*files, late]:
        rel = path.relative_to(repo).as_posix()
        old_blob = subprocess.run(["git", "-C", str(repo), "show", f"{sha1}:{rel}"], capture_output=True,
                                  check=False).stdout
        branches, metadata = read_encrypted(path.read_bytes(), get_store("yaml"))
        if old_blob:
            _, old_metadata = read_encrypted(old_blob, get_store("yaml"))
            metadata.key_groups = old_metadata.key_groups  # graft the historical key record
        with pytest.raises(SopsError):
            open_document(branches, metadata, context=KeyContext(age_identities=[first.identity], env={}),
                          decryption_order=("age",))


def test_verify_fails_on_a_rule_listing_a_retired_key(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    """Issue path 1, as the old rotation left it: another rule keeps the key the cluster dropped."""
    client = _client(kubeconfig_admin)
    first = init_cluster_key(repo, client=client, path_regex=PROD)
    _write(repo, "flux/secrets/prod/db.yaml", "pw")
    _push(repo, "s")
    started = init_cluster_key(repo, client=client, path_regex=PROD, force=True)
    while started.paused:
        _push(repo, "r")
        started = _resume(repo, kubeconfig_admin, wait_for_flux=False)
    assert verify_cluster_key(repo, client=client).ok
    text = (repo / ".sops.yaml").read_text()
    (repo / ".sops.yaml").write_text(text + f"  - path_regex: {STAGING}\n    age: {first.recipient}\n")
    _write(repo, "flux/secrets/staging/db.yaml", "pw")
    report = verify_cluster_key(repo, client=client)
    assert not report.ok
    assert any("no longer holds" in p and first.recipient in p for p in report.problems)


def test_verify_fails_when_the_rule_never_wins_or_has_no_file(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    """Issue path 2: a catch-all before the cluster's rule, and a typo in the path_regex."""
    client = _client(kubeconfig_admin)
    other = generate_identity()[1]
    init_cluster_key(repo, client=client, path_regex=PROD)
    report = verify_cluster_key(repo, client=client)
    assert not report.ok and any("files checked: 0" in p for p in report.problems)
    text = (repo / ".sops.yaml").read_text().replace("creation_rules:\n", f"creation_rules:\n  - age: {other}\n", 1)
    (repo / ".sops.yaml").write_text(text)
    _write(repo, "flux/secrets/prod/db.yaml", "pw")  # won by the catch-all: encrypted for `other`
    report = verify_cluster_key(repo, client=client)
    assert not report.ok and any("never wins" in p for p in report.problems)
    done = subprocess.run([sys.executable, "-m", "sopskit", "cluster", "verify", "--kubeconfig",
                           str(kubeconfig_admin)], cwd=repo, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "never wins" in done.stdout
    # a typo in the rule: nothing lands under it
    typo = (repo / ".sops.yaml").read_text().replace(f"  - age: {other}\n", "").replace(PROD, "^flux/secret/prod/")
    (repo / ".sops.yaml").write_text(typo)
    report = verify_cluster_key(repo, client=client)
    assert not report.ok and any("files checked: 0" in p for p in report.problems)


def test_verify_fails_while_the_pushed_files_do_not_open(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    """Issue path 3: the work tree is re-encrypted for the cluster's key, the remote is not."""
    client = _client(kubeconfig_admin)
    old_identity, old_recipient = generate_identity()
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: {PROD}\n    age: {old_recipient}\n")
    path = _write(repo, "flux/secrets/prod/db.yaml", "pw")
    _push(repo, "old key")
    first = init_cluster_key(repo, client=client, path_regex=PROD)  # adds the cluster key to the rule
    from sopskit.ops.updatekeys import update_keys_file

    update_keys_file(path, config=load_config(repo / ".sops.yaml"),
                     context=KeyContext(age_identities=[old_identity], env={}), decryption_order=("age",))
    assert check_decryptable(path, [first.identity]) is None  # locally fine...
    report = verify_cluster_key(repo, client=client)
    assert not report.ok and any("as pushed" in p for p in report.problems)  # ...but not what Flux pulls
    _push(repo, "re-keyed")
    assert verify_cluster_key(repo, client=client).ok
    assert public_key_of(first.identity) == first.recipient


def test_verify_fails_during_a_paused_rotation(repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    client = _client(kubeconfig_admin)
    init_cluster_key(repo, client=client, path_regex=PROD)
    _write(repo, "flux/secrets/prod/db.yaml", "pw")
    _push(repo, "s")
    init_cluster_key(repo, client=client, path_regex=PROD, force=True)
    report = verify_cluster_key(repo, client=client)
    assert not report.ok and any("commit and push" in p for p in report.problems)


def test_default_path_regex_never_lands_in_a_rule_that_never_wins(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    """Issue path 2 at the source: `repo init` leaves keyless per-environment rules; the default
    `--path-regex ^flux/secrets/` after them would never win there."""
    from sopskit.errors import ClusterError
    from sopskit.k8s.workflow import DEFAULT_PATH_REGEX

    client = _client(kubeconfig_admin)
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: {PROD}\n    age: []\n")
    with pytest.raises(ClusterError, match="would never apply") as info:
        init_cluster_key(repo, client=client, path_regex=DEFAULT_PATH_REGEX)
    assert f"--path-regex '{PROD}'" in (info.value.hint or "")
    assert k8s_server.secret_data(NS, NAME) is None  # nothing was created
    first = init_cluster_key(repo, client=client, path_regex=PROD)
    _write(repo, "flux/secrets/prod/db.yaml", "pw")
    _push(repo, "s")
    # rotating with the default --path-regex re-keys the rule that holds the key, adds no rule
    started = init_cluster_key(repo, client=client, path_regex=DEFAULT_PATH_REGEX, force=True)
    assert started.rules == [PROD]
    assert DEFAULT_PATH_REGEX not in [r.path_regex for r in load_config(repo / ".sops.yaml").creation_rules]
    assert first.recipient in (repo / ".sops.yaml").read_text()
