"""``doctor --cluster`` against the fake API server: the Secret, its key names, its identities,
the MAC, RBAC for the controller, substitution, Kustomization status and the checklist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.doctor import Options, Report, diagnose
from sopskit.doctor.wiring import CONTROLLER_ACCOUNT
from sopskit.k8s.client import connect
from sopskit.keys.age import generate_identity
from testing.k8s_server import FakeKubeServer, Rule, User
from tests.doctor.conftest import SECRET_YAML, GitOpsRepo

NS = "flux-system"
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}],
         "lastAppliedRevision": "main@sha1:1111111"}


@pytest.fixture()
def cluster(k8s_server: FakeKubeServer, gitops: GitOpsRepo) -> FakeKubeServer:
    """A healthy cluster for ``gitops``: the key Secret, a controller that may read it, the
    Kustomization Ready, the app Secret applied."""
    k8s_server.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    k8s_server.add_secret(NS, "sops-age", {"age.agekey": f"{gitops.identity}\n".encode()})
    k8s_server.add_kustomization(NS, "apps", {"path": "./apps", "decryption": {"provider": "sops",
                                 "secretRef": {"name": "sops-age"}}}, status=READY)
    k8s_server.add_secret("apps", "db", {"password": b"pw-1"})
    return k8s_server


def _run(gitops: GitOpsRepo, kubeconfig: Path, **kw: object) -> Report:
    return diagnose(gitops.root, Options(cluster=connect(kubeconfig=str(kubeconfig)), **kw))  # type: ignore[arg-type]


def _first_failure(report: Report, rel: str = "apps/db.yaml") -> str | None:
    failed = [c.id for c in report.checks if c.file == rel and c.status == "fail"]
    assert len(failed) <= 1, failed
    return failed[0] if failed else None


def test_healthy_cluster_every_link_and_checklist_ok(
    cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path
) -> None:
    report = _run(gitops, kubeconfig_admin)
    statuses = {c.id: c.status for c in report.checks if c.file == "apps/db.yaml"}
    assert statuses == {c: "ok" for c in statuses} and len(statuses) == 11, statuses
    assert [c.status for c in report.checklist] == ["ok", "ok", "ok", "ok"], report.checklist
    ready = [c for c in report.checks if c.id == "flux.ready"]
    assert ready and ready[0].status == "ok" and "main@sha1:1111111" in ready[0].message
    # existence of the app Secret was asked without its values (a metadata Table)
    asked = [r for r in cluster.requests if r.resource == "secrets" and r.name == "db"]
    assert asked and all("as=Table" in (r.accept or "") and r.query.get("includeObject") == "None" for r in asked)
    assert "AGE-SECRET-KEY" not in json.dumps(report.to_json()) and "pw-1" not in json.dumps(report.to_json())


def test_key_lost_secret_missing(cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    cluster.reset()
    cluster.add_kustomization(NS, "apps", {"path": "./apps", "decryption": {"provider": "sops",
                              "secretRef": {"name": "sops-age"}}}, status=READY)
    report = _run(gitops, kubeconfig_admin)
    assert _first_failure(report) == "cluster.secret"
    check = next(c for c in report.checks if c.status == "fail")
    assert "does not exist" in check.message
    assert check.fix == "sopskit cluster init --namespace flux-system --secret-name sops-age"
    assert next(c for c in report.checklist if c.id == "checklist.secret-exists").status == "fail"


def test_secret_with_key_name_flux_ignores(cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    cluster.reset()
    cluster.add_secret(NS, "sops-age", {"identity.txt": f"{gitops.identity}\n".encode()})
    assert _first_failure(_run(gitops, kubeconfig_admin)) == "cluster.secret"


def test_cluster_identity_not_a_recipient(cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    cluster.reset()
    cluster.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    other = generate_identity()
    cluster.add_secret(NS, "sops-age", {"age.agekey": f"{other[0]}\n".encode()})
    report = _run(gitops, kubeconfig_admin)
    assert _first_failure(report) == "cluster.recipient"
    check = next(c for c in report.checks if c.status == "fail")
    assert other[1] in check.message and gitops.recipient in check.message  # public keys only
    assert other[0] not in json.dumps(report.to_json())


def test_mac_mismatch(cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    path = gitops.root / "apps/db.yaml"
    text = path.read_text()
    other = gitops.encrypt("apps/other.yaml", SECRET_YAML.format(name="db", value="pw-2")).read_text()
    (gitops.root / "apps/other.yaml").unlink()
    swapped = next(line for line in other.splitlines() if "password: ENC[" in line)
    original = next(line for line in text.splitlines() if "password: ENC[" in line)
    path.write_text(text.replace(original, swapped))  # a value from another data key: MAC cannot match
    assert _first_failure(_run(gitops, kubeconfig_admin)) == "sops.mac"


def test_controller_may_not_read_the_secret(
    cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path
) -> None:
    cluster.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], names=["other"],
                                                                  namespace=NS),)))
    try:
        report = _run(gitops, kubeconfig_admin)
    finally:
        cluster.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    assert _first_failure(report) == "cluster.rbac"


def test_tenant_service_account_is_the_subject(
    cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path
) -> None:
    cluster.reset()
    cluster.add_secret(NS, "sops-age", {"age.agekey": f"{gitops.identity}\n".encode()})
    cluster.add_kustomization(NS, "apps", {"path": "./apps", "serviceAccountName": "tenant",
                              "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}, status=READY)
    report = _run(gitops, kubeconfig_admin)
    assert _first_failure(report) == "cluster.rbac"
    assert "system:serviceaccount:flux-system:tenant" in next(c for c in report.checks if c.status == "fail").message


def test_substitution_rejects_undefined_variable(
    cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path
) -> None:
    gitops.encrypt("apps/db.yaml", SECRET_YAML.format(name="db", value="'p${NOT_DEFINED}w'"))
    cluster.reset()
    cluster.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    cluster.add_secret(NS, "sops-age", {"age.agekey": f"{gitops.identity}\n".encode()})
    spec = {"path": "./apps", "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
            "postBuild": {"substitute": {"CLUSTER": "prod"}}}
    cluster.add_kustomization(NS, "apps", spec, status=READY)
    report = _run(gitops, kubeconfig_admin)
    assert _first_failure(report) == "flux.substitution"
    check = next(c for c in report.checks if c.status == "fail")
    assert "stringData.password" in check.message and "NOT_DEFINED" in check.message and "p${" not in check.message
    # defined, defaulted and escaped variables pass
    for value in ("'${CLUSTER}'", "'${X:=d}'", "'$${LITERAL}'"):
        gitops.encrypt("apps/db.yaml", SECRET_YAML.format(name="db", value=value))
        assert _first_failure(_run(gitops, kubeconfig_admin)) is None, value


def test_kustomization_not_ready_with_decryption_error(
    cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path
) -> None:
    cluster.set_kustomization_status(NS, "apps", {"conditions": [{
        "type": "Ready", "status": "False", "reason": "ReconciliationFailed",
        "message": "decryption failed for 'db': failed to get the data key"}]})
    report = _run(gitops, kubeconfig_admin)
    ready = next(c for c in report.checks if c.id == "flux.ready")
    assert ready.status == "fail" and "decryption failed" in ready.message
    assert next(c for c in report.checklist if c.id == "checklist.kustomization-ready").status == "fail"


def test_cli_json_and_exit_codes(cluster: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sopskit", "doctor", *args], cwd=gitops.root,
                              capture_output=True, text=True, timeout=120, check=False)

    done = cli("--cluster", "--kubeconfig", str(kubeconfig_admin), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    parsed = json.loads(done.stdout)
    assert parsed["ok"] is True
    assert {"id", "status", "file", "message"} <= set(parsed["checks"][0])
    assert {"ok", "checks"} <= set(parsed) and isinstance(parsed["ok"], bool)
    assert all({"id", "status", "file", "message"} <= set(c) for c in parsed["checks"])
    assert {c["status"] for c in parsed["checks"]} <= {"ok", "fail", "unknown"}
    gitops.set_ks({"decryption": None})
    cluster.reset()
    offline = cli()
    assert offline.returncode == 1 and "[flux.decryption]" in offline.stdout
    assert "fix: sopskit repo init" in offline.stdout
    assert cli("--kustomization", "nonsense").returncode == 2
    assert cli("no/such/path").returncode == 2
