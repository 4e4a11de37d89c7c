"""Fixtures for talking to a fake Kubernetes API server (``testing.k8s_server``).

One HTTPS server per test module (its CA and certificate made by ``openssl`` at test time), one
plain-HTTP server per module for the Python client, and a reset before every test, so each test
starts with only the built-in namespaces and an empty request log.

Fixtures for other test modules (the cluster-key workflow builds on these):

``k8s_server``          the TLS :class:`~testing.k8s_server.FakeKubeServer` (reset per test)
``k8s_plain_server``    the same over plain HTTP (kubectl would not send tokens to it)
``kubeconfig_admin``    kubeconfig path for ``admin-token`` (all rights) on ``k8s_server``
``kubeconfig_readonly`` ``read-only-token``: get/list/watch only, every write is 403
``kubeconfig_minimal``  ``minimal-token``: exactly the documented minimal Role in flux-system
``kubeconfig_no_rights``an authenticated user with no rights (403 on everything)
``kubeconfig_bad_token`` a token the server does not know (401)
``kubectl``             ``kubectl(kubeconfig, *args, input=...)`` runs the real kubectl against it
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testing.certs import TlsFiles, make_tls_files
from testing.k8s_server import ADMIN, READ_ONLY, FakeKubeServer, User, minimal_role_rules
from tests.conftest import require_tool

NAMESPACE = "flux-system"
SECRET = "sops-age"

TOKENS = {
    "admin-token": User("admin", ADMIN),
    "read-only-token": User("reader", READ_ONLY),
    "no-rights-token": User("nobody"),
    "minimal-token": User("sopskit-ci", minimal_role_rules(NAMESPACE, SECRET)),
    "minimal-ns-token": User("sopskit-ci-ns", minimal_role_rules(NAMESPACE, SECRET, with_namespace=True)),
}

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    require_tool("openssl")
    return make_tls_files(tmp_path_factory.mktemp("k8s-tls"))


@pytest.fixture(scope="module")
def _tls_server(tls_files: TlsFiles) -> Iterator[FakeKubeServer]:
    with FakeKubeServer(tls=tls_files, tokens=TOKENS) as server:
        yield server


@pytest.fixture(scope="module")
def _plain_server() -> Iterator[FakeKubeServer]:
    with FakeKubeServer(tokens=TOKENS) as server:
        yield server


def _fresh(server: FakeKubeServer) -> FakeKubeServer:
    if not server.running:  # a previous test killed it
        server.start()
    server.reset()
    return server


@pytest.fixture()
def k8s_server(_tls_server: FakeKubeServer) -> FakeKubeServer:
    return _fresh(_tls_server)


@pytest.fixture()
def k8s_plain_server(_plain_server: FakeKubeServer) -> FakeKubeServer:
    return _fresh(_plain_server)


def _kubeconfig(server: FakeKubeServer, tmp_path: Path, token: str) -> Path:
    return server.write_kubeconfig(tmp_path / f"kubeconfig-{token}", token=token)


@pytest.fixture()
def kubeconfig_admin(k8s_server: FakeKubeServer, tmp_path: Path) -> Path:
    return _kubeconfig(k8s_server, tmp_path, "admin-token")


@pytest.fixture()
def kubeconfig_readonly(k8s_server: FakeKubeServer, tmp_path: Path) -> Path:
    return _kubeconfig(k8s_server, tmp_path, "read-only-token")


@pytest.fixture()
def kubeconfig_minimal(k8s_server: FakeKubeServer, tmp_path: Path) -> Path:
    return _kubeconfig(k8s_server, tmp_path, "minimal-token")


@pytest.fixture()
def kubeconfig_no_rights(k8s_server: FakeKubeServer, tmp_path: Path) -> Path:
    return _kubeconfig(k8s_server, tmp_path, "no-rights-token")


@pytest.fixture()
def kubeconfig_bad_token(k8s_server: FakeKubeServer, tmp_path: Path) -> Path:
    return _kubeconfig(k8s_server, tmp_path, "not-a-known-token")


@pytest.fixture()
def kubectl(tmp_path: Path) -> Kubectl:
    """Run the real kubectl with an isolated HOME and discovery cache; never raises on failure."""
    binary = require_tool("kubectl")
    home = tmp_path / "kubectl-home"
    home.mkdir(exist_ok=True)

    def run(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(home / "cache"),
        }
        return subprocess.run(
            [binary, *args], env=env, input=input, capture_output=True, text=True, timeout=60, check=False
        )

    return run
