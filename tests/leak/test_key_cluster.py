"""`sopskit leak key --from-cluster`: the cluster's sops-age identities, read into memory only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sopskit.k8s.agesecret import AGEKEY_DATA_KEY, format_agekey
from sopskit.keys.age import generate_identity
from testing.k8s_server import FakeKubeServer
from tests.k8s.conftest import _tls_server, k8s_server, kubeconfig_readonly, tls_files  # noqa: F401
from tests.leak.builder import init_repo, sops_secret
from tests.leak.conftest import SOPSKIT, clean_env


def test_from_cluster(tmp_path: Path, k8s_server: FakeKubeServer,  # noqa: F811
                      kubeconfig_readonly: Path) -> None:  # noqa: F811
    identity, recipient = generate_identity()
    k8s_server.add_secret("flux-system", "sops-age", {AGEKEY_DATA_KEY: format_agekey([identity])})
    g = init_repo(tmp_path / "repo")
    g.write("flux/secrets/db.yaml", sops_secret("db", "pw-123456", recipient))
    g.write("flux/secrets/other.yaml", sops_secret("other", "pw-654321", generate_identity()[1]))
    g.commit("secrets")
    out = subprocess.run([*SOPSKIT, "leak", "key", "--repo", str(g.path), "--from-cluster", "--kubeconfig",
                          str(kubeconfig_readonly), "--format", "json"], env=clean_env(tmp_path),
                         capture_output=True, timeout=120)
    assert out.returncode == 1, out.stderr.decode()
    doc = json.loads(out.stdout)
    assert doc["key"] == [recipient]
    assert [e["path"] for e in doc["exposed"]] == ["flux/secrets/db.yaml"]
    assert identity.encode() not in out.stdout + out.stderr
