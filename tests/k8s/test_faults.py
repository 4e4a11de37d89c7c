"""Fault injection: the hooks the cluster-key workflow's resume tests will rely on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sopskit.errors import ClusterError
from sopskit.k8s.client import connect
from sopskit.k8s.errors import ClusterUnreachableError
from testing.k8s_server import FakeKubeServer
from tests.k8s.conftest import NAMESPACE, SECRET, Kubectl


def test_fail_after_n_requests(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_namespace(NAMESPACE)
    client = connect(kubeconfig=str(kubeconfig_admin))
    k8s_server.faults.fail_after(2, status=503)
    assert client.read_secret(NAMESPACE, SECRET) is None  # request 1
    client.create_secret(NAMESPACE, SECRET, {"k": b"v"})  # request 2
    with pytest.raises(ClusterError, match="answered 503") as caught:
        client.replace_secret(NAMESPACE, SECRET, {"k": b"w"})
    assert not isinstance(caught.value, ClusterUnreachableError)
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"k": b"v"}  # the write after N did not happen
    assert k8s_server.faults.triggered >= 1
    k8s_server.faults.clear()
    client.replace_secret(NAMESPACE, SECRET, {"k": b"w"})
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"k": b"w"}


def test_drop_connections(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"k": b"v"})
    client = connect(kubeconfig=str(kubeconfig_admin), timeout=5)
    k8s_server.faults.drop_after(0)
    with pytest.raises(
        ClusterUnreachableError, match=r"cannot reach the Kubernetes API at https://127\.0\.0\.1"
    ):
        client.read_secret(NAMESPACE, SECRET)
    assert k8s_server.requests and {r.status for r in k8s_server.requests} == {0}


def test_fail_only_matching_requests(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"k": b"v"})
    k8s_server.faults.fail_when(lambda r: r.verb == "delete", status=500)
    done = kubectl(kubeconfig_admin, "delete", "secret", SECRET, "-n", NAMESPACE)
    assert done.returncode == 1
    assert "fault injected by the test server" in done.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"k": b"v"}


def test_kill_then_restart_keeps_state(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"k": b"v"})
    client = connect(kubeconfig=str(kubeconfig_admin), timeout=5)
    port = k8s_server.port
    k8s_server.kill()
    assert not k8s_server.running
    with pytest.raises(ClusterUnreachableError):
        client.read_secret(NAMESPACE, SECRET)
    k8s_server.restart()
    assert k8s_server.port == port  # the kubeconfig stays valid
    assert client.read_secret(NAMESPACE, SECRET) == {"k": b"v"}


def test_kill_mid_workflow_from_a_hook(k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    """A test can stop the server between two calls of a workflow (here: after the create)."""
    k8s_server.add_namespace(NAMESPACE)
    client = connect(kubeconfig=str(kubeconfig_admin), timeout=5)

    def after_create(record: object) -> bool:
        if getattr(record, "verb", None) == "update":
            threading.Thread(target=k8s_server.kill).start()
            return True
        return False

    k8s_server.faults.fail_when(after_create, drop=True)
    client.create_secret(NAMESPACE, SECRET, {"k": b"v1"})
    with pytest.raises(ClusterUnreachableError):
        client.replace_secret(NAMESPACE, SECRET, {"k": b"v2"})
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"k": b"v1"}
