"""``doctor --cluster`` on many files: the bounded pool, one cluster read per run, the same report
whatever the pool size, and the data-key check answered by the Secret's age identities only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sopskit.config import KeySpec
from sopskit.doctor import Options, diagnose
from sopskit.doctor.wiring import CONTROLLER_ACCOUNT
from sopskit.k8s.client import connect
from sopskit.keys.age import generate_identity
from sopskit.ops.encrypt import encrypt
from testing.azure_kv_server import FakeKeyVault
from testing.k8s_server import FakeKubeServer, Rule, User
from tests.doctor.conftest import SECRET_YAML, GitOpsRepo
from tests.keys.test_azure_kv import VAULT, azure_tls, azure_vault  # noqa: F401 - fixtures

NS = "flux-system"


def _cluster(server: FakeKubeServer, gitops: GitOpsRepo) -> None:
    server.add_token("ctl-token", User(CONTROLLER_ACCOUNT, (Rule.of(["get"], ["secrets"], namespace=NS),)))
    server.add_secret(NS, "sops-age", {"age.agekey": f"{gitops.identity}\n".encode()})


def test_many_files_one_secret_read_same_report_any_pool(
        k8s_server: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path) -> None:
    _cluster(k8s_server, gitops)
    names = [f"s{i:02d}" for i in range(24)]
    gitops.write("apps/kustomization.yaml", "resources:\n" + "".join(f"  - {n}.yaml\n" for n in ["db", *names]))
    for name in names:
        gitops.encrypt(f"apps/{name}.yaml", SECRET_YAML.format(name=name, value=f"pw-{name}"))
    # one broken file in the middle: its failure stays its own
    (gitops.root / "apps" / "s07.yaml").write_text(
        (gitops.root / "apps" / "s07.yaml").read_text().replace("password: ENC[AES256_GCM,data:", "password: "
                                                                 "ENC[AES256_GCM,data:AAAA"))
    client = connect(kubeconfig=str(kubeconfig_admin))
    k8s_server.clear_log()
    serial = diagnose(gitops.root, Options(cluster=client, workers=1))
    reads_serial = [r for r in k8s_server.requests if r.resource == "secrets" and r.name == "sops-age"]
    k8s_server.clear_log()
    pooled = diagnose(gitops.root, Options(cluster=client, workers=8))
    reads_pooled = [r for r in k8s_server.requests if r.resource == "secrets" and r.name == "sops-age"]
    assert len(reads_serial) == len(reads_pooled) == 1  # the Secret once per run, not once per file
    assert json.dumps(serial.to_json(), sort_keys=True) == json.dumps(pooled.to_json(), sort_keys=True)
    assert pooled.files == 25
    failed = {c.file for c in pooled.checks if c.status == "fail" and c.file}
    assert failed == {"apps/s07.yaml"}
    mac = [c for c in pooled.checks if c.id == "sops.mac" and c.status == "ok"]
    assert len(mac) == 24  # every other file was opened with the cluster's identity


def test_data_key_check_never_asks_a_key_service(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        k8s_server: FakeKubeServer, gitops: GitOpsRepo, kubeconfig_admin: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose age record names the cluster key but does not open with it (a bad merge)
    and that the vault would open for the caller: doctor must not report the cluster's key as
    working because the caller's own Azure credential opened the file."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the API server, not the vault's tunnel
    _cluster(k8s_server, gitops)
    _, other = generate_identity()
    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    sealed = encrypt(SECRET_YAML.format(name="db", value="pw-1").encode(), format="yaml", config=False,
                     key_groups=[[KeySpec("age", other), KeySpec("azure_kv", key_url)]])
    (gitops.root / "apps" / "db.yaml").write_bytes(sealed.replace(other.encode(), gitops.recipient.encode()))
    azure_vault.requests.clear()
    report = diagnose(gitops.root, Options(cluster=connect(kubeconfig=str(kubeconfig_admin))))
    mac = [c for c in report.checks if c.id == "sops.mac" and c.file == "apps/db.yaml"]
    assert [c.status for c in mac] == ["fail"], mac
    assert "do not open the data key" in mac[0].message
    assert azure_vault.count("decrypt", status=None) == 0
