"""Small repositories built at test time, and real sops-written files to put in them."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from sopskit.policy import Report, check_policy, validate_flux
from tests.conftest import VECTORS, require, require_tool

RepoFactory = Callable[..., Path]

#: a real sops 3.7.1 YAML file encrypted for one age recipient
AGE_VECTOR = "yaml/example.sops-3.7.1.age.yaml"
AGE_VECTOR_RECIPIENT = "age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw"
#: a real sops 3.13.1 dotenv file
DOTENV_VECTOR = "dotenv/format.sops-3.13.1.pgp.env"

GITIGNORE = "*.agekey\n"


@pytest.fixture()
def make_repo(tmp_path: Path) -> RepoFactory:
    """``make_repo({"path": "text", ...}, git=True)``: a repo with a *.agekey guard by default."""

    def build(files: dict[str, str | bytes], *, git: bool = True, gitignore: str | None = GITIGNORE) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        if gitignore is not None:
            files = {".gitignore": gitignore, **files}
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        if git:
            require_tool("git")
            subprocess.run(["git", "init", "-q", str(root)], check=True)
        return root

    return build


def vector_bytes(name: str) -> bytes:
    """The bytes of a real sops vector, read in place (fails under CI when missing)."""
    return require(VECTORS / name).read_bytes()


def ids(report: Report) -> list[str]:
    return [v.check_id for v in report.violations]


def found(report: Report, check_id: str) -> list[tuple[str, int | None]]:
    return [(v.path, v.line) for v in report.violations if v.check_id == check_id]


def policy(root: Path, check_id: str) -> list[tuple[str, int | None]]:
    return found(check_policy(root, only=[check_id]), check_id)


def flux(root: Path, check_id: str) -> list[tuple[str, int | None]]:
    return found(validate_flux(root, only=[check_id]), check_id)


#: a ``.sops.yaml`` that makes a made-up repository one that uses SOPS (age)
SOPS_CONFIG = {".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n"}


def flux_ks(name: str, path: str) -> str:
    """A Flux Kustomization in flux-system building ``path`` of this repository's source."""
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )


def encrypted_secret(name: str = "app") -> str:
    """A SOPS-encrypted Kubernetes Secret as sops writes one under ``encrypted_regex:
    ^(data|stringData)$`` (made-up ciphertext: its shape is what the guardrails read)."""
    enc = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]"
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  token: {enc}\n"
        f"sops:\n  age:\n    - recipient: {AGE_VECTOR_RECIPIENT}\n      enc: x\n"
        "  lastmodified: '2024-01-01T00:00:00Z'\n"
        "  mac: ENC[AES256_GCM,data:bWFj,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]\n"
        "  encrypted_regex: ^(data|stringData)$\n  version: 3.8.1\n"
    )
