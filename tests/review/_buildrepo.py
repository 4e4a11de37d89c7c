"""A made-up Flux repository for ``sopskit build``: generators (files, envs, .dockerconfigjson),
an encrypted patch, a component, a SOPS Secret resource and postBuild substitution."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyrage

from sopskit.format.selection import SelectionRules
from sopskit.ops.encrypt import encrypt
from sopskit.stores import format_for_path

#: every plaintext secret of the fixture (none may appear in a redacted output)
SECRETS = {
    "db_password": "db-Pa55-3e8a1f0c",
    "api_key": "api-key-77c0b1e5d2",
    "config_token": "cfg-token-9a4e2b71",
    "docker_auth": "ZG9ja2VyOnMzY3IzdC1kb2NrZXI=",
    "patch_value": "patched-secret-5d1c",
    "component_env": "component-env-0f3b9e",
    "resource_secret": "resource-secret-a61d0c",
    "subst_secret": "subst-secret-c4f2e8",
    "multi_one": "multi-one-8b2d4f",
    "multi_two": "multi-two-1c7e9a",
}


@dataclass
class BuildRepo:
    root: Path
    identity: str
    key_file: Path


def _write_encrypted(path: Path, plain: bytes, recipient: str, *, fmt: str | None = None,
                     regex: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    selection = SelectionRules(option="encrypted_regex", pattern=regex) if regex else None
    path.write_bytes(encrypt(plain, format=fmt or format_for_path(path.name), age=[recipient], config=False,
                             selection=selection))


def make_build_repo(tmp: Path) -> BuildRepo:
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    key_file = tmp / "age.txt"
    key_file.write_text(str(identity) + "\n")
    root = tmp / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    app = root / "apps" / "web"
    comp = root / "components" / "extra"
    s = SECRETS
    (app).mkdir(parents=True)
    comp.mkdir(parents=True)
    (app / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: web\n"
        "resources: [deployment.yaml, secret.enc.yaml, configmap.yaml, multi.enc.yaml]\n"
        "components: [../../components/extra]\n"
        "secretGenerator:\n"
        "  - name: web-files\n    files: [config.json=config.enc.json]\n    envs: [web.env]\n"
        "  - name: regcred\n    type: kubernetes.io/dockerconfigjson\n    files: [.dockerconfigjson=docker.enc.json]\n"
        "generatorOptions: {disableNameSuffixHash: true}\n"
        "patches:\n  - path: patch.enc.yaml\n    target: {kind: Deployment, name: web}\n"
    )
    (app / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: web\n          image: nginx:1.27\n"
        "          envFrom: [{secretRef: {name: web-files}}]\n"
    )
    (app / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-settings}\n"
        "data:\n  tag: ${IMAGE_TAG:=1.27}\n  cluster: ${CLUSTER_NAME}\n  escaped: $${NOT_A_VAR}\n"
        "  token: ${SUBST_TOKEN:-none}\n"
    )
    _write_encrypted(app / "secret.enc.yaml",
                     f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-resource\nstringData:\n"
                     f"  password: {s['resource_secret']}\n".encode(), recipient, regex="^(data|stringData)$")
    _write_encrypted(app / "multi.enc.yaml",
                     f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: multi-one\nstringData:\n"
                     f"  value: {s['multi_one']}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: multi-two\n"
                     f"stringData:\n  value: {s['multi_two']}\n".encode(), recipient, regex="^(data|stringData)$")
    _write_encrypted(app / "config.enc.json",
                     json.dumps({"token": s["config_token"], "retries": 3}).encode(), recipient)
    _write_encrypted(app / "web.env", f"DB_PASSWORD={s['db_password']}\nAPI_KEY={s['api_key']}\n".encode(),
                     recipient)
    docker = {"auths": {"registry.example.com": {"auth": s["docker_auth"]}}}
    _write_encrypted(app / "docker.enc.json", json.dumps(docker).encode(), recipient, fmt="json")
    _write_encrypted(app / "patch.enc.yaml",
                     f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n"
                     f"    spec:\n      containers:\n        - name: web\n          env:\n"
                     f"            - name: PATCHED\n              value: {s['patch_value']}\n".encode(), recipient,
                     regex="^value$")
    (comp / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "secretGenerator:\n  - name: extra-env\n    envs: [extra.env]\n"
    )
    _write_encrypted(comp / "extra.env", f"COMPONENT_SECRET={s['component_env']}\n".encode(), recipient)
    clusters = root / "clusters" / "prod"
    clusters.mkdir(parents=True)
    (clusters / "web.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: web, namespace: flux-system}\n"
        "spec:\n  path: ./apps/web\n  targetNamespace: web-prod\n  decryption: {provider: sops}\n"
        "  postBuild:\n    substitute: {CLUSTER_NAME: prod-eu}\n"
        "    substituteFrom:\n      - {kind: Secret, name: cluster-vars}\n"
        "      - {kind: ConfigMap, name: missing, optional: true}\n"
        "  images: [{name: nginx, newTag: '1.29'}]\n"
        "  patches:\n    - patch: |\n        apiVersion: v1\n        kind: ConfigMap\n"
        "        metadata: {name: web-settings}\n        data: {extra: from-flux}\n"
        "      target: {kind: ConfigMap}\n"
    )
    _write_encrypted(clusters / "vars.enc.yaml",
                     f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\n"
                     f"stringData:\n  SUBST_TOKEN: {s['subst_secret']}\n  CLUSTER_NAME: overridden\n".encode(),
                     recipient, regex="^(data|stringData)$")
    return BuildRepo(root, str(identity), key_file)
