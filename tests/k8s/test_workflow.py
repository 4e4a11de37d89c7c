"""The cluster-key workflow against the fake API server: init, refusal, RBAC, rotation, resume.

The invariant checked throughout a rotation: every SOPS file under the rule opens with the
identities the cluster's Secret holds *at that moment* (read from the server's own state,
not through sopskit).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopskit.config import load_config
from sopskit.errors import ClusterError
from sopskit.k8s import workflow
from sopskit.k8s.agesecret import AGEKEY_DATA_KEY, SecretRef, connect_client, parse_agekey
from sopskit.k8s.rotation_state import load_state, state_path
from sopskit.k8s.workflow import (
    RotationInterruptedError,
    init_cluster_key,
    verify_cluster_key,
)
from sopskit.keys.age import generate_identity, public_key_of
from sopskit.ops.decrypt import decrypt
from sopskit.ops.encrypt import encrypt
from sopskit.ops.rulefiles import age_recipients_of, check_decryptable, read_metadata
from testing.k8s_server import FakeKubeServer

NS, NAME = "flux-system", "sops-age"
REGEX = "^flux/secrets/prod/"
OTHER_RULE = "# team config: comments must survive\ncreation_rules:\n  - path_regex: ^dev/\n    pgp: ABC # dev\n"
SECRETS = {
    "db": "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: pw-db-1\n",
    "api": "apiVersion: v1\nkind: Secret\nmetadata:\n    name: api\nstringData:\n    token: tok-api-2\n",
    "mq": "apiVersion: v1\nkind: Secret\nmetadata:\n    name: mq\ndata:\n    pass: cGFzcw==\n",
}


def _git_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".sops.yaml").write_text(OTHER_RULE)
    return root


def _commit(root: Path, message: str = "change") -> str:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", message, "--allow-empty"], check=True, capture_output=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return _git_repo(tmp_path / "repo")


def _finish(root: Path, kubeconfig: Path, result: workflow.InitResult) -> workflow.InitResult:
    """Play the user at each pause: commit (no Flux here), then resume until done."""
    while result.paused is not None:
        _commit(root, f"rotation: {result.paused}")
        result = _init(root, kubeconfig, force=True, resume=True, wait_for_flux=False)
    return result


def _rotate(root: Path, kubeconfig: Path) -> tuple[str, workflow.InitResult]:
    """A whole rotation; returns the new private key (printed by the first run) and the end."""
    first = _init(root, kubeconfig, force=True)
    assert first.paused == "pushed_both" and first.identity
    return first.identity, _finish(root, kubeconfig, first)


def _client(kubeconfig: Path):  # type: ignore[no-untyped-def]
    return connect_client(kubeconfig=str(kubeconfig))


def _cluster_identities(server: FakeKubeServer) -> list[str]:
    data = server.secret_data(NS, NAME)
    assert data is not None
    return parse_agekey(data[AGEKEY_DATA_KEY])


def _write_secrets(repo: Path) -> dict[Path, str]:
    config = load_config(repo / ".sops.yaml")
    written = {}
    for name, plain in SECRETS.items():
        path = repo / "flux/secrets/prod" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encrypt(plain.encode(), format="yaml", path=path, config=config))
        written[path] = plain
    return written


def _assert_cluster_opens_all(server: FakeKubeServer, files: Iterator[Path] | list[Path]) -> None:
    held = _cluster_identities(server)
    for path in files:
        assert check_decryptable(path, held) is None, f"{path.name} is not decryptable by the cluster"


def _enc_values(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if "ENC[" in line and "mac:" not in line]


def _bytes_everywhere(roots: list[Path], needle: bytes) -> list[Path]:
    hits = []
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                try:
                    if needle in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    return hits


def _init(repo: Path, kubeconfig: Path, **kw: object) -> workflow.InitResult:
    return init_cluster_key(repo, client=_client(kubeconfig), path_regex=REGEX, **kw)  # type: ignore[arg-type]


# -- first key ---------------------------------------------------------------------------------


def test_init_creates_secret_and_rule(repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    result = _init(repo, kubeconfig_admin)
    data = k8s_server.secret_data(NS, NAME)
    assert data is not None and list(data) == [AGEKEY_DATA_KEY]
    assert parse_agekey(data[AGEKEY_DATA_KEY]) == [result.identity]
    assert public_key_of(result.identity) == result.recipient
    assert result.namespace_created  # flux-system did not exist on the fresh server
    config = load_config(repo / ".sops.yaml")
    rule = config.rule_for(repo / "flux/secrets/prod/x.yaml")
    assert rule is not None and rule.recipients("age") == [result.recipient]
    assert "# team config: comments must survive" in (repo / ".sops.yaml").read_text()
    assert "pgp: ABC # dev" in (repo / ".sops.yaml").read_text()
    assert not _bytes_everywhere([repo], result.identity.encode())
    writes = [r for r in k8s_server.requests if r.method not in ("GET",)]
    assert all(r.method in ("POST", "PUT", "DELETE") for r in writes)  # never a (client-side) apply patch


def test_init_with_the_minimal_role(repo: Path, k8s_server: FakeKubeServer, kubeconfig_minimal: Path) -> None:
    """The documented Role (no namespace rights) is enough when flux-system exists."""
    k8s_server.add_namespace(NS)
    result = _init(repo, kubeconfig_minimal)
    assert not result.namespace_created
    assert _cluster_identities(k8s_server) == [result.identity]
    _write_secrets(repo)
    identity, _ = _rotate(repo, kubeconfig_minimal)
    assert _cluster_identities(k8s_server) == [identity]
    assert verify_cluster_key(repo, client=_client(kubeconfig_minimal)).ok


def test_init_refuses_existing_secret_without_force(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path
) -> None:
    existing = generate_identity()[0]
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: existing.encode() + b"\n"})
    before = (repo / ".sops.yaml").read_bytes()
    with pytest.raises(ClusterError, match="already exists"):
        _init(repo, kubeconfig_admin)
    assert (repo / ".sops.yaml").read_bytes() == before
    assert _cluster_identities(k8s_server) == [existing]


def test_read_only_token_changes_nothing(repo: Path, k8s_server: FakeKubeServer, kubeconfig_readonly: Path) -> None:
    k8s_server.add_namespace(NS)
    before = (repo / ".sops.yaml").read_bytes()
    with pytest.raises(ClusterError) as info:
        _init(repo, kubeconfig_readonly)
    assert "403" in info.value.message or "forbidden" in info.value.message.lower()
    assert (repo / ".sops.yaml").read_bytes() == before
    assert k8s_server.secret_data(NS, NAME) is None
    assert not state_path(repo).exists()


def test_read_only_token_cannot_rotate(
    repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubeconfig_readonly: Path
) -> None:
    first = _init(repo, kubeconfig_admin)
    files = _write_secrets(repo)
    snapshot = {p: p.read_bytes() for p in [repo / ".sops.yaml", *files]}
    with pytest.raises(ClusterError, match="rolled back"):
        _init(repo, kubeconfig_readonly, force=True)
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert _cluster_identities(k8s_server) == [first.identity]
    assert not state_path(repo).exists()


# -- rotation ----------------------------------------------------------------------------------


def test_rotation_replaces_the_key_everywhere(repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    first = _init(repo, kubeconfig_admin)
    files = _write_secrets(repo)
    values_before = {p: _enc_values(p) for p in files}
    identity, rotated = _rotate(repo, kubeconfig_admin)
    assert rotated.recipient != first.recipient and rotated.rotated_from == [first.recipient]
    assert rotated.identity == ""  # printed once, by the first run
    assert _cluster_identities(k8s_server) == [identity]
    rule = load_config(repo / ".sops.yaml").rule_for(repo / "flux/secrets/prod/db.yaml")
    assert rule is not None and rule.recipients("age") == [rotated.recipient]
    for path, plain in files.items():
        assert age_recipients_of(read_metadata(path)) == [rotated.recipient]
        assert set(_enc_values(path)).isdisjoint(values_before[path])  # a new data key: every value re-encrypted
        assert decrypt(path.read_bytes(), format="yaml", identities=[identity]).decode() == plain
        assert check_decryptable(path, [first.identity]) is not None
    assert verify_cluster_key(repo, client=_client(kubeconfig_admin)).ok
    assert not state_path(repo).exists()
    assert "# team config: comments must survive" in (repo / ".sops.yaml").read_text()
    assert not _bytes_everywhere([repo], identity.encode())
    assert not _bytes_everywhere([repo], first.identity.encode())


def _watch_invariant(monkeypatch: pytest.MonkeyPatch, server: FakeKubeServer, files: list[Path]) -> list[str]:
    """After every local write and every Secret write of the workflow, check the invariant."""
    seen: list[str] = []
    real_rekey, real_write, real_ids = (workflow.rulefiles.rekey_file, workflow._write_text, workflow.write_identities)

    def check(label: str) -> None:
        seen.append(label)
        if server.secret_data(NS, NAME) is not None:
            _assert_cluster_opens_all(server, files)

    def rekey(*a: object, **k: object) -> bool:
        out = real_rekey(*a, **k)  # type: ignore[arg-type]
        check("file")
        return out

    def write_text(*a: object, **k: object) -> None:
        real_write(*a, **k)  # type: ignore[arg-type]
        check("config")

    def write_ids(*a: object, **k: object) -> None:
        try:
            real_ids(*a, **k)  # type: ignore[arg-type]
        finally:
            check("cluster")

    monkeypatch.setattr(workflow.rulefiles, "rekey_file", rekey)
    monkeypatch.setattr(workflow, "_write_text", write_text)
    monkeypatch.setattr(workflow, "write_identities", write_ids)
    return seen


def _count_rotation_requests(repo: Path, server: FakeKubeServer, kubeconfig: Path) -> int:
    _init(repo, kubeconfig)
    _write_secrets(repo)
    _commit(repo)
    server.clear_log()
    _rotate(repo, kubeconfig)
    return len(server.requests)


def test_every_failure_point_rolls_back_or_resumes(
    repo: Path,
    tmp_path: Path,
    k8s_server: FakeKubeServer,
    kubeconfig_admin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _git_repo(tmp_path / "probe")
    total = _count_rotation_requests(probe, k8s_server, kubeconfig_admin)
    assert total >= 6
    outcomes = set()
    for n in range(total):
        k8s_server.reset()
        here = _git_repo(tmp_path / f"run{n}")
        first = _init(here, kubeconfig_admin)
        files = list(_write_secrets(here))
        _commit(here)
        plain = {p: decrypt(p.read_bytes(), format="yaml", identities=[first.identity]) for p in files}
        with monkeypatch.context() as m:
            _watch_invariant(m, k8s_server, files)
            k8s_server.faults.fail_after(n)
            with pytest.raises(ClusterError) as info:
                _rotate(here, kubeconfig_admin)
            k8s_server.faults.clear()
            _assert_cluster_opens_all(k8s_server, files)
            if isinstance(info.value, RotationInterruptedError):
                outcomes.add("interrupted")
                assert load_state(here) is not None
                assert "--resume" in (info.value.hint or "")
                _finish(here, kubeconfig_admin, _init(here, kubeconfig_admin, force=True, resume=True,
                                                      wait_for_flux=False))
            elif load_state(here) is not None:  # a refused read while resuming: nothing changed
                outcomes.add("resumable")
                _finish(here, kubeconfig_admin, _init(here, kubeconfig_admin, force=True, resume=True,
                                                      wait_for_flux=False))
            else:
                outcomes.add("rolled back")
                assert _cluster_identities(k8s_server) == [first.identity]
                _rotate(here, kubeconfig_admin)
        held = _cluster_identities(k8s_server)
        assert len(held) == 1 and held != [first.identity]
        for path in files:
            assert decrypt(path.read_bytes(), format="yaml", identities=held) == plain[path]
        assert verify_cluster_key(here, client=_client(kubeconfig_admin)).ok, n
    assert {"interrupted", "rolled back"} <= outcomes


def test_server_killed_mid_rotation_then_resume(
    repo: Path,
    k8s_server: FakeKubeServer,
    kubeconfig_admin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _init(repo, kubeconfig_admin)
    files = list(_write_secrets(repo))
    seen = _watch_invariant(monkeypatch, k8s_server, files)
    real_ids = workflow.write_identities
    calls = {"n": 0}

    def kill_after_first_write(*a: object, **k: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the final write (new identity only): the server dies first
            k8s_server.kill()
        real_ids(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(workflow, "write_identities", kill_after_first_write)
    with pytest.raises(RotationInterruptedError) as info:
        _rotate(repo, kubeconfig_admin)
    assert "cluster_new" in info.value.message
    held = _cluster_identities(k8s_server)
    assert len(held) == 2 and first.identity in held
    _assert_cluster_opens_all(k8s_server, files)
    k8s_server.start()
    result = _init(repo, kubeconfig_admin, force=True, resume=True, wait_for_flux=False)
    assert result.resumed and result.paused is None
    assert len(_cluster_identities(k8s_server)) == 1 and _cluster_identities(k8s_server)[0] in held
    assert public_key_of(_cluster_identities(k8s_server)[0]) == result.recipient != first.recipient
    assert verify_cluster_key(repo, client=_client(kubeconfig_admin)).ok
    assert "file" in seen and "config" in seen


def test_crash_before_the_key_reaches_the_cluster(
    repo: Path,
    k8s_server: FakeKubeServer,
    kubeconfig_admin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process killed while re-keying files: the new key is lost, resume undoes and rotates anew."""
    first = _init(repo, kubeconfig_admin)
    files = list(_write_secrets(repo))
    real = workflow.rulefiles.rekey_file
    calls = {"n": 0}

    def crash_on_second(*a: object, **k: object) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # like SIGKILL: no cleanup code of ours runs for it
        return real(*a, **k)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(workflow.rulefiles, "rekey_file", crash_on_second)
        with pytest.raises(KeyboardInterrupt):
            _init(repo, kubeconfig_admin, force=True)
    state = load_state(repo)
    assert state is not None and state.step == "config_both" and len(state.files_done) == 1
    lost = state.new_recipient
    _assert_cluster_opens_all(k8s_server, files)
    with pytest.raises(ClusterError, match="in progress"):
        _init(repo, kubeconfig_admin, force=True)
    result = _init(repo, kubeconfig_admin, force=True, resume=True)
    assert result.rolled_back and result.recipient != lost and result.paused == "pushed_both"
    result = _finish(repo, kubeconfig_admin, result)
    assert _cluster_identities(k8s_server) == [_cluster_identities(k8s_server)[0]]
    assert public_key_of(_cluster_identities(k8s_server)[0]) == result.recipient
    for path in files:
        assert age_recipients_of(read_metadata(path)) == [result.recipient]
    text = (repo / ".sops.yaml").read_text()
    assert lost not in text and first.recipient not in text


# -- verify ------------------------------------------------------------------------------------


def test_verify_reports_each_mismatch(repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    first = _init(repo, kubeconfig_admin)
    files = list(_write_secrets(repo))
    report = verify_cluster_key(repo, client=_client(kubeconfig_admin))
    assert report.ok and len(report.files) == len(files)
    stranger = generate_identity()[1]
    foreign = repo / "flux/secrets/prod/foreign.yaml"
    foreign.write_bytes(encrypt(b"stringData:\n  a: b\n", format="yaml", age=[stranger], config=False))
    k8s_server.add_secret(NS, "other", {})
    report = verify_cluster_key(repo, client=_client(kubeconfig_admin))
    assert not report.ok
    assert any("foreign.yaml" in p and "cannot open" in p for p in report.problems)
    text = (repo / ".sops.yaml").read_text().replace(first.recipient, stranger)
    (repo / ".sops.yaml").write_text(text)
    report = verify_cluster_key(repo, client=_client(kubeconfig_admin), path_regex=REGEX)
    assert any("does not list the cluster recipient" in p for p in report.problems)
    assert any("db.yaml" in p and "differ" in p for p in report.problems)
    assert all(first.identity not in p for p in report.problems + report.notes)


def test_verify_without_secret(repo: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    with pytest.raises(ClusterError, match="no Secret"):
        verify_cluster_key(repo, client=_client(kubeconfig_admin), ref=SecretRef(NS, NAME))
