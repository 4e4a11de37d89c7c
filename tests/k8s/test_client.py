"""sopskit.k8s.client against the fake API server, cross-checked with the real kubectl."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.errors import ClusterError, MissingExtraError
from sopskit.k8s.client import FIELD_MANAGER, LAST_APPLIED_ANNOTATION, connect
from sopskit.k8s.errors import (
    AlreadyExistsError,
    ClusterConflictError,
    ClusterForbiddenError,
    ClusterNotFoundError,
    ClusterUnauthorizedError,
    KubeconfigError,
)
from testing.k8s_server import FakeKubeServer, write_kubeconfig
from tests.k8s.conftest import NAMESPACE, SECRET, Kubectl

KEY = b"# created: 2025-01-01\nAGE-SECRET-KEY-1SOPSKITTESTKEYQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"


def test_kubectl_writes_sopskit_reads(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    done = kubectl(
        kubeconfig_admin,
        "create",
        "secret",
        "generic",
        SECRET,
        "-n",
        NAMESPACE,
        "--from-file=age.agekey=/dev/stdin",
        input=KEY.decode(),
    )
    assert done.returncode == 0, done.stderr
    client = connect(kubeconfig=str(kubeconfig_admin))
    assert client.read_secret(NAMESPACE, SECRET) == {"age.agekey": KEY}
    rv = client.secret_resource_version(NAMESPACE, SECRET)
    assert rv == k8s_server.existing("secrets", NAMESPACE, SECRET)["metadata"]["resourceVersion"]


def test_sopskit_writes_kubectl_reads(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    client = connect(kubeconfig=str(kubeconfig_admin))
    assert client.ensure_namespace(NAMESPACE) is True
    assert client.ensure_namespace(NAMESPACE) is False
    client.create_secret(
        NAMESPACE, SECRET, {"age.agekey": KEY}, labels={"app.kubernetes.io/managed-by": "sopskit"}
    )

    done = kubectl(kubeconfig_admin, "get", "secret", SECRET, "-n", NAMESPACE, "-o", "json")
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert base64.b64decode(obj["data"]["age.agekey"]) == KEY
    assert obj["type"] == "Opaque"
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "sopskit"}
    assert "annotations" not in obj["metadata"]
    extracted = kubectl(
        kubeconfig_admin, "get", "secret", SECRET, "-n", NAMESPACE, "-o", "jsonpath={.data.age\\.agekey}"
    )
    assert base64.b64decode(extracted.stdout) == KEY
    managers = [
        m["manager"] for m in k8s_server.existing("secrets", NAMESPACE, SECRET)["metadata"]["managedFields"]
    ]
    assert managers == [FIELD_MANAGER]


def test_python_client_sends_bearer_token_over_plain_http(
    k8s_plain_server: FakeKubeServer, tmp_path: Path
) -> None:
    kubeconfig = k8s_plain_server.write_kubeconfig(tmp_path / "kc", token="admin-token")
    client = connect(kubeconfig=str(kubeconfig))
    assert client.server.startswith("http://127.0.0.1:")
    k8s_plain_server.add_namespace(NAMESPACE)
    client.create_secret(NAMESPACE, SECRET, {"age.agekey": KEY})
    assert k8s_plain_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": KEY}
    assert {r.user for r in k8s_plain_server.requests} == {"admin"}


def test_kubeconfig_from_environment_and_context(
    k8s_server: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = write_kubeconfig(
        tmp_path / "kc",
        k8s_server.url,
        token="read-only-token",
        ca_pem=k8s_server.tls.ca_pem if k8s_server.tls else None,
        context="reader",
        extra_contexts={"admin": "admin-token"},
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    k8s_server.add_namespace(NAMESPACE)
    with pytest.raises(ClusterForbiddenError):
        connect().create_secret(NAMESPACE, SECRET, {"k": b"v"})  # current-context: reader
    connect(context="admin").create_secret(NAMESPACE, SECRET, {"k": b"v"})
    assert [r.user for r in k8s_server.requests if r.verb == "create"] == ["reader", "admin"]
    with pytest.raises(KubeconfigError, match='context "nope"'):
        connect(context="nope")


def test_missing_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        connect(kubeconfig=str(tmp_path / "absent"))


def test_in_cluster_config(
    k8s_plain_server: FakeKubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a kubeconfig, the service-account token and CA of the pod are used."""
    import kubernetes.config.incluster_config as incluster

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("admin-token")
    (account / "ca.crt").write_text("unused over plain http")
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(account / "ca.crt"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(k8s_plain_server.port))
    client = connect()
    assert client.server == f"https://127.0.0.1:{k8s_plain_server.port}"  # in-cluster is always https
    with pytest.raises(KubeconfigError, match="in-cluster"):
        connect(context="admin")


def test_create_existing_raises_already_exists(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"old"})
    client = connect(kubeconfig=str(kubeconfig_admin))
    with pytest.raises(AlreadyExistsError) as caught:
        client.create_secret(NAMESPACE, SECRET, {"age.agekey": KEY})
    assert isinstance(caught.value, ClusterError)
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"old"}
    assert KEY.decode() not in str(caught.value) + str(caught.value.hint)


def test_replace_keeps_labels_drops_last_applied(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"team": "infra"}},
        "stringData": {"age.agekey": "AGE-SECRET-KEY-OLD"},
    }
    assert kubectl(kubeconfig_admin, "apply", "-f", "-", input=json.dumps(manifest)).returncode == 0
    assert (
        LAST_APPLIED_ANNOTATION
        in k8s_server.existing("secrets", NAMESPACE, SECRET)["metadata"]["annotations"]
    )

    client = connect(kubeconfig=str(kubeconfig_admin))
    before = client.secret_resource_version(NAMESPACE, SECRET)
    after = client.replace_secret(NAMESPACE, SECRET, {"age.agekey": KEY})
    assert int(after) > int(before or 0)
    obj = k8s_server.existing("secrets", NAMESPACE, SECRET)
    assert obj["metadata"]["labels"] == {"team": "infra"}
    assert "annotations" not in obj["metadata"]  # the old plaintext is gone with the annotation
    assert client.read_secret(NAMESPACE, SECRET) == {"age.agekey": KEY}


def test_replace_with_stale_version_conflicts(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"v1"})
    client = connect(kubeconfig=str(kubeconfig_admin))
    stale = client.secret_resource_version(NAMESPACE, SECRET)
    client.replace_secret(NAMESPACE, SECRET, {"age.agekey": b"v2"}, resource_version=stale)
    with pytest.raises(ClusterConflictError) as caught:
        client.replace_secret(NAMESPACE, SECRET, {"age.agekey": b"v3"}, resource_version=stale)
    assert not isinstance(caught.value, AlreadyExistsError)
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"v2"}


def test_replace_absent_and_delete_idempotent(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_namespace(NAMESPACE)
    client = connect(kubeconfig=str(kubeconfig_admin))
    assert client.read_secret(NAMESPACE, SECRET) is None
    assert client.secret_resource_version(NAMESPACE, SECRET) is None
    with pytest.raises(ClusterNotFoundError):
        client.replace_secret(NAMESPACE, SECRET, {"k": b"v"})
    rv = client.create_secret(NAMESPACE, SECRET, {"k": b"v"})
    client.replace_secret(NAMESPACE, SECRET, {"k": b"w"})
    with pytest.raises(ClusterConflictError):
        client.delete_secret(NAMESPACE, SECRET, resource_version=rv)  # precondition: an older version
    assert client.delete_secret(NAMESPACE, SECRET) is True
    assert client.delete_secret(NAMESPACE, SECRET) is False
    assert k8s_server.object("secrets", NAMESPACE, SECRET) is None


def test_create_in_missing_namespace(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    with pytest.raises(ClusterNotFoundError, match='namespace "absent" does not exist'):
        connect(kubeconfig=str(kubeconfig_admin)).create_secret("absent", SECRET, {"k": b"v"})


def test_401_message(k8s_server: FakeKubeServer, kubeconfig_bad_token: Path) -> None:
    with pytest.raises(ClusterUnauthorizedError, match=r"the cluster rejected the credentials \(401\)"):
        connect(kubeconfig=str(kubeconfig_bad_token)).read_secret(NAMESPACE, SECRET)


def test_403_names_request_and_hints_minimal_role(
    k8s_server: FakeKubeServer, kubeconfig_readonly: Path
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"old"})
    before = k8s_server.object("secrets", NAMESPACE, SECRET)
    client = connect(kubeconfig=str(kubeconfig_readonly))
    with pytest.raises(ClusterForbiddenError) as caught:
        client.replace_secret(NAMESPACE, SECRET, {"age.agekey": KEY})
    error = caught.value
    expected = f'not allowed to update secret "{SECRET}" in namespace "{NAMESPACE}" as User "reader"'
    assert str(error) == expected + " (403 Forbidden)"
    assert "\n" not in str(error)
    assert error.user == "reader" and error.request.verb == "update"
    assert (
        error.hint is not None
        and "resourceNames: [sops-age]" in error.hint
        and "verbs: [create]" in error.hint
    )
    assert KEY.decode() not in error.hint
    assert k8s_server.object("secrets", NAMESPACE, SECRET) == before  # read-only: no change


def test_namespace_403_hint_mentions_cluster_role(
    k8s_server: FakeKubeServer, kubeconfig_minimal: Path
) -> None:
    with pytest.raises(ClusterForbiddenError) as caught:
        connect(kubeconfig=str(kubeconfig_minimal)).ensure_namespace("new-ns")
    assert "ClusterRole" in (caught.value.hint or "")
    assert k8s_server.object("namespaces", None, "new-ns") is None


def test_client_factory_seam(k8s_plain_server: FakeKubeServer, tmp_path: Path) -> None:
    import kubernetes

    configuration = kubernetes.client.Configuration()
    configuration.host = k8s_plain_server.url
    configuration.api_key = {"authorization": "Bearer admin-token"}
    api = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    client = connect(client_factory=lambda: api)
    assert client.server == k8s_plain_server.url
    assert client.ensure_namespace("seam") is True


def test_missing_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(MissingExtraError) as caught:
        connect(kubeconfig=str(tmp_path / "kc"))
    assert caught.value.hint == "pip install 'sopskit[k8s]'"


def test_importing_client_does_not_import_kubernetes() -> None:
    code = "import sys, sopskit.k8s.client, sopskit.k8s.errors; print('kubernetes' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
