"""``sopskit argocd``: run as Argo CD runs a sidecar plugin (its build environment variables,
the Application's source directory as working directory)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cli._support import SOPSKIT
from tests.review._buildrepo import SECRETS, BuildRepo, make_build_repo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> BuildRepo:
    built = make_build_repo(tmp_path_factory.mktemp("argocd"))
    shutil.rmtree(built.root / ".git")  # Argo CD hands the plugin a tarball, not a clone
    return built


def argocd(repo: BuildRepo, command: str, *, cwd: Path, namespace: str = "web", project: str = "default",
           **extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_", "ARGOCD_"))}
    env.update(PYTHONPATH=str(ROOT / "src"), SOPS_AGE_KEY_FILE=str(repo.key_file),
               ARGOCD_APP_NAME="web", ARGOCD_APP_NAMESPACE=namespace, ARGOCD_APP_PROJECT_NAME=project,
               ARGOCD_APP_SOURCE_PATH="apps/web", ARGOCD_APP_REVISION="0" * 40,
               ARGOCD_APP_SOURCE_REPO_URL="https://git.example.com/repo.git")
    env.update(extra)
    return subprocess.run([*SOPSKIT, "argocd", command], cwd=cwd, env=env, capture_output=True, timeout=120)


def test_generate_emits_decrypted_manifests(repo: BuildRepo) -> None:
    out = argocd(repo, "generate", cwd=repo.root / "apps" / "web")
    assert out.returncode == 0, out.stderr.decode()
    assert out.stderr == b""
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    resource = next(d for d in docs if d["metadata"]["name"] == "web-resource")
    assert resource["stringData"]["password"] == SECRETS["resource_secret"]
    assert all(d["metadata"]["namespace"] == "web" for d in docs)
    assert "sops" not in resource


def test_objects_outside_the_namespace_are_refused(repo: BuildRepo) -> None:
    out = argocd(repo, "generate", cwd=repo.root / "apps" / "web", namespace="shop")
    assert out.returncode != 0 and out.stdout == b""
    err = out.stderr.decode()
    assert "outside namespace 'shop'" in err
    for value in SECRETS.values():
        assert value not in err


def test_allow_setting_is_per_project(repo: BuildRepo) -> None:
    allowed = argocd(repo, "generate", cwd=repo.root / "apps" / "web", namespace="shop", project="team-a",
                     SOPSKIT_ARGOCD_ALLOWED_NAMESPACES="team-a=web;team-b=*")
    assert allowed.returncode == 0, allowed.stderr.decode()
    other = argocd(repo, "generate", cwd=repo.root / "apps" / "web", namespace="shop", project="team-c",
                   SOPSKIT_ARGOCD_ALLOWED_NAMESPACES="team-a=web;team-b=*")
    assert other.returncode != 0 and other.stdout == b""
    # an Application author can set only ARGOCD_ENV_* variables: those never widen the scope
    sneaky = argocd(repo, "generate", cwd=repo.root / "apps" / "web", namespace="shop",
                    ARGOCD_ENV_SOPSKIT_ARGOCD_ALLOWED_NAMESPACES="default=*")
    assert sneaky.returncode != 0 and sneaky.stdout == b""


def test_cluster_scoped_objects_are_refused(repo: BuildRepo, tmp_path: Path) -> None:
    from sopskit.review.argocd import AppContext, check_scope, parse_allowed
    from sopskit.review.errors import ScopeError

    app = AppContext("web", "web", "default", "apps/web")
    namespace = [{"kind": "Namespace", "metadata": {"name": "evil"}}]
    with pytest.raises(ScopeError, match="cluster-scoped"):
        check_scope(namespace, app, {})
    check_scope(namespace, app, parse_allowed("default=<cluster>"))
    check_scope([{"kind": "ConfigMap", "metadata": {"name": "x"}}], app, {})  # no namespace: the app's


def test_tampered_input_fails_closed(repo: BuildRepo, tmp_path: Path) -> None:
    broken = tmp_path / "repo"
    shutil.copytree(repo.root, broken)
    path = broken / "apps/web/secret.enc.yaml"
    path.write_text(path.read_text().replace("name: web-resource", "name: web-resource2"))
    out = argocd(BuildRepo(broken, repo.identity, repo.key_file), "generate", cwd=broken / "apps" / "web")
    assert out.returncode != 0 and out.stdout == b""
    assert b"MAC" in out.stderr and b"Traceback" not in out.stderr


def test_missing_key_fails_closed(repo: BuildRepo) -> None:
    out = argocd(repo, "generate", cwd=repo.root / "apps" / "web", SOPS_AGE_KEY_FILE="/nonexistent/keys.txt")
    assert out.returncode != 0 and out.stdout == b""


def test_discover(repo: BuildRepo, tmp_path: Path) -> None:
    found = argocd(repo, "discover", cwd=repo.root)
    assert found.returncode == 0 and found.stdout.strip() == b"sopskit"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "kustomization.yaml").write_text("resources: []\n")
    missed = argocd(repo, "discover", cwd=plain, ARGOCD_APP_SOURCE_PATH="")
    assert missed.returncode != 0 and missed.stdout == b""
