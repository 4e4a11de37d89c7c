"""A throwaway Git repository with an age-encrypted Secret layout, driven through the real CLI."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.cli._support import AgeKey, base_env, new_age_key, run

DEPLOYMENTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  template:
    spec:
      containers:
        - name: api
          envFrom: [{secretRef: {name: db}}]
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: api-token, key: token}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: worker, namespace: app}
spec:
  template:
    spec:
      volumes: [{name: s, secret: {secretName: db}}]
      containers: [{name: w}]
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cache, namespace: app}
spec:
  values:
    auth: {existingSecret: cache}
"""


def secret_yaml(name: str, namespace: str, values: dict[str, str]) -> str:
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {name}", f"  namespace: {namespace}",
             "stringData:"]
    lines += [f"  {k}: {v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


@dataclass
class GitRepo:
    root: Path
    env: dict[str, str]
    key: AgeKey
    other: AgeKey

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, check=True, env=self.env)
        return out.stdout.decode().strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        return self.git("rev-parse", "HEAD")

    def sopskit(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        out = run(list(args), env=self.env, cwd=self.root)
        assert out.returncode == 0, out.stderr.decode()
        return out

    def write_secret(self, rel: str, name: str, namespace: str, values: dict[str, str]) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret_yaml(name, namespace, values))
        self.sopskit("encrypt", "-i", rel)


def make_repo(tmp: Path) -> GitRepo:
    keys = tmp / "keys"
    keys.mkdir()
    key, other = new_age_key(keys, "a"), new_age_key(keys, "b")
    root = tmp / "repo"
    root.mkdir()
    env = base_env(tmp, SOPS_AGE_KEY_FILE=str(key.key_file), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    repo = GitRepo(root, env, key, other)
    repo.git("init", "-q")
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: ^secrets/\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {key.recipient}\n"
    )
    (root / "app").mkdir()
    (root / "app" / "deploy.yaml").write_text(DEPLOYMENTS)
    return repo
