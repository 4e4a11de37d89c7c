"""``sopskit inventory --cluster CONTEXT``: the cluster's sops-age key names a holder; the
identity is read into memory only, and the output holds its public key, never the identity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sopskit
from sopskit.k8s.agesecret import SecretRef, connect_client, write_identities
from sopskit.keys.age import generate_identity
from testing.k8s_server import FakeKubeServer

SECRET = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: shop\nstringData:\n    pw: x-9\n"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n"
              "  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx\n"
              "          envFrom: [{secretRef: {name: db}}]\n")


def test_cluster_key_names_the_holder(tmp_path: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    identity, recipient = generate_identity()
    k8s_server.add_namespace("flux-system")
    write_identities(connect_client(kubeconfig=str(kubeconfig_admin)), SecretRef(), [identity])
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    selection = sopskit.SelectionRules("encrypted_regex", "^(data|stringData)$")
    (repo / "apps/db.yaml").write_bytes(sopskit.encrypt(SECRET, format="yaml", age=[recipient], selection=selection,
                                                        config=False))
    (repo / "apps/web.yaml").write_text(DEPLOYMENT)
    done = subprocess.run([sys.executable, "-m", "sopskit", "inventory", "--format", "json", "--no-history",
                           "--cluster", "fake", "--kubeconfig", str(kubeconfig_admin), str(repo)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    holders = [(h["holder"], h["kind"], h["key"]) for h in inventory["holders"]]
    assert holders == [("cluster/fake", "cluster", recipient)]
    [entry] = inventory["secrets"]
    assert entry["consumers"] == [{"kind": "Deployment", "namespace": "shop", "name": "web", "via": "env"}]
    assert identity not in done.stdout + done.stderr


def test_missing_secret_is_one_line(tmp_path: Path, k8s_server: FakeKubeServer, kubeconfig_admin: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sopskit", "inventory", "--no-history", "--cluster", "fake",
                           "--kubeconfig", str(kubeconfig_admin), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "no flux-system/sops-age Secret" in done.stderr and "Traceback" not in done.stderr
