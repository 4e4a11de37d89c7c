"""A small GitOps repository for doctor tests: one Flux Kustomization building ``apps/``, a
``.sops.yaml`` rule for it, and SOPS files encrypted for a cluster key made at run time."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sopskit.config import load_config
from sopskit.keys.age import generate_identity
from sopskit.ops.encrypt import encrypt
from tests.k8s.conftest import (  # noqa: F401  (fixtures re-used for cluster mode)
    _plain_server,
    _tls_server,
    k8s_plain_server,
    k8s_server,
    kubeconfig_admin,
    tls_files,
)

SECRET_YAML = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: apps\n"
    "stringData:\n    password: {value}\n"
)
FLUX_KS = {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
    "kind": "Kustomization",
    "metadata": {"name": "apps", "namespace": "flux-system"},
    "spec": {
        "interval": "10m",
        "path": "./apps",
        "prune": True,
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
    },
}


@dataclass
class GitOpsRepo:
    root: Path
    identity: str
    recipient: str

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def encrypt(self, rel: str, plain: str, *, age: tuple[str, ...] | None = None) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        config = load_config(self.root / ".sops.yaml")
        kwargs = {"age": age} if age is not None else {"config": config}
        path.write_bytes(encrypt(plain.encode(), format="yaml", path=path, **kwargs))  # type: ignore[arg-type]
        return path

    def set_rules(self, rules: list[dict[str, object]]) -> None:
        self.write(".sops.yaml", yaml.safe_dump({"creation_rules": rules}, sort_keys=False))

    def set_ks(self, spec_update: dict[str, object] | None = None) -> None:
        doc = {**FLUX_KS, "spec": {**FLUX_KS["spec"], **(spec_update or {})}}  # type: ignore[dict-item]
        self.write("clusters/prod/apps.yaml", yaml.safe_dump(doc, sort_keys=False))

    def commit(self, message: str = "c") -> str:
        subprocess.run(["git", "-C", str(self.root), "add", "-A"], check=True, capture_output=True)
        subprocess.run(
            ["git", "-C", str(self.root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit",
             "-qm", message], check=True, capture_output=True,
        )
        done = subprocess.run(["git", "-C", str(self.root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()


@pytest.fixture()
def gitops(tmp_path: Path) -> GitOpsRepo:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    identity, recipient = generate_identity()
    repo = GitOpsRepo(root, identity, recipient)
    repo.set_rules([{"path_regex": "^apps/", "encrypted_regex": "^(data|stringData)$", "age": recipient}])
    repo.set_ks()
    repo.write("apps/kustomization.yaml", "resources:\n  - db.yaml\n")
    repo.encrypt("apps/db.yaml", SECRET_YAML.format(name="db", value="pw-1"))
    return repo
