"""A made-up organisation repository: three environments, two clusters, people's keys, a CI
key, one recipient shared by two environments, one stale secret, an ExternalSecret, a
SealedSecret and CODEOWNERS, with Git history whose dates the tests control."""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyrage import x25519

import sopskit

NOW = _dt.datetime(2026, 12, 1, 12, 0, tzinfo=_dt.UTC)
SECRET_VALUES = ("dev-pass-31415", "staging-pass-27182", "prod-pass-16180", "prod-api-key-14142")


@dataclass
class OrgRepo:
    root: Path
    keys: dict[str, str]  # holder -> recipient
    identities: dict[str, str]  # holder -> identity (for tests that must not see them in output)


def _git(root: Path, *args: str, date: _dt.datetime | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date.isoformat()
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _secret(name: str, namespace: str, values: dict[str, str]) -> bytes:
    body = "".join(f"    {k}: {v}\n" for k, v in values.items())
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: {namespace}\n"
            f"type: Opaque\nstringData:\n{body}").encode()


def _encrypt(plain: bytes, recipients: list[str]) -> bytes:
    selection = sopskit.SelectionRules("encrypted_regex", "^(data|stringData)$")
    return sopskit.encrypt(plain, format="yaml", age=recipients, selection=selection, config=False)


@pytest.fixture
def org_repo(tmp_path: Path) -> OrgRepo:
    root = tmp_path / "org"
    root.mkdir()
    identities = {name: x25519.Identity.generate() for name in ("cluster-a", "cluster-prod", "alice", "bob", "ci")}
    keys = {name: str(identity.to_public()) for name, identity in identities.items()}
    rules = {
        "dev": [keys["cluster-a"], keys["alice"], keys["ci"]],
        "staging": [keys["cluster-a"], keys["alice"]],  # cluster-a is shared by dev and staging
        "prod": [keys["cluster-prod"], keys["bob"]],
    }
    config = "creation_rules:\n" + "".join(
        f"  - path_regex: ^flux/secrets/{env}/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {','.join(recipients)}\n" for env, recipients in rules.items())
    (root / ".sops.yaml").write_text(config)
    (root / ".sopskit-holders.yaml").write_text("holders:\n" + "".join(
        f"  - key: {keys[name]}\n    holder: {holder}\n    kind: {kind}\n" for name, holder, kind in (
            ("cluster-a", "cluster/nonprod", "cluster"), ("cluster-prod", "cluster/prod", "cluster"),
            ("alice", "alice@example.com", "person"), ("bob", "bob@example.com", "person"),
            ("ci", "ci/github-actions", "ci"))))
    (root / "CODEOWNERS").write_text("* @org/platform\n/flux/secrets/prod/ @org/sre\n")
    for env in rules:
        (root / "flux" / "secrets" / env).mkdir(parents=True)
    (root / "flux/secrets/dev/db.yaml").write_bytes(_encrypt(_secret("db", "app-dev", {"password": SECRET_VALUES[0]}),
                                                             rules["dev"]))
    (root / "flux/secrets/staging/db.yaml").write_bytes(
        _encrypt(_secret("db", "app-staging", {"password": SECRET_VALUES[1]}), rules["staging"]))
    (root / "flux/secrets/prod/db.yaml").write_bytes(
        _encrypt(_secret("db", "app-prod", {"password": SECRET_VALUES[2]}), rules["prod"]))
    (root / "apps").mkdir()
    (root / "apps/external.yaml").write_text(
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: stripe\n"
        "  namespace: app-prod\nspec:\n  secretStoreRef: {name: vault, kind: ClusterSecretStore}\n"
        "  target: {name: stripe-credentials}\n  data:\n    - secretKey: api-key\n"
        "      remoteRef: {key: prod/stripe, property: key}\n")
    (root / "apps/sealed.yaml").write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: smtp\n  namespace: app-staging\n"
        "spec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "initial", date=NOW - _dt.timedelta(days=200))
    # the prod secret gets a new value 10 days ago; updatekeys-like change of staging (recipients only)
    (root / "flux/secrets/prod/db.yaml").write_bytes(
        _encrypt(_secret("db", "app-prod", {"password": SECRET_VALUES[2] + "x", "api-key": SECRET_VALUES[3]}),
                 rules["prod"]))
    _git(root, "commit", "-qam", "rotate prod db", date=NOW - _dt.timedelta(days=10))
    # staging gains a recipient 5 days ago (updatekeys: the values' ciphertexts stay the same)
    (root / ".sops.yaml").write_text(config.replace(
        f"age: {','.join(rules['staging'])}", f"age: {','.join([*rules['staging'], keys['bob']])}"))
    subprocess.run([sys.executable, "-m", "sopskit", "updatekeys", "-y", "flux/secrets/staging/db.yaml"], cwd=root,
                   check=True, capture_output=True, env={**os.environ, "SOPS_AGE_KEY": str(identities["alice"])})
    _git(root, "commit", "-qam", "staging: add bob", date=NOW - _dt.timedelta(days=5))
    return OrgRepo(root, keys, {name: str(identity) for name, identity in identities.items()})
