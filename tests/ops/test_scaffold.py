"""repo init layout: created once, idempotent, existing content and comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sopskit.config import load_config
from sopskit.errors import UsageError
from sopskit.ops.scaffold import (
    GITIGNORE_GUARDS,
    add_kustomization_resource,
    env_path_regex,
    init_repo,
    known_environments,
    secret_template,
)

FLUX_KS = """\
# Flux entry point for prod (keep this comment)
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: prod-secrets
  namespace: flux-system
spec:
  interval: 10m
  path: ./flux/secrets/prod
  prune: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
"""


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_lays_out_everything(tmp_path: Path) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "prod.yaml").write_text(FLUX_KS)
    report = init_repo(tmp_path, ["dev", "prod"])
    config = load_config(tmp_path / ".sops.yaml")
    assert [r.path_regex for r in config.creation_rules] == ["^flux/secrets/dev/", "^flux/secrets/prod/"]
    assert all(r.selection is not None for r in config.creation_rules)
    assert config.raw["creation_rules"][0]["encrypted_regex"] == "^(data|stringData)$"
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert set(GITIGNORE_GUARDS) <= set(ignored)
    for env in ("dev", "prod"):
        k = yaml.safe_load((tmp_path / "flux/secrets" / env / "kustomization.yaml").read_text())
        assert k["kind"] == "Kustomization" and k["resources"] == []
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    ids = [h["id"] for repo in hooks["repos"] for h in repo["hooks"]]
    assert "sopskit-scan" in ids and "sopskit-policy" in ids
    docs = list(yaml.safe_load_all((tmp_path / "clusters" / "prod.yaml").read_text()))
    assert docs[0]["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    assert "decryption" not in docs[1]["spec"]  # ./apps holds no secrets path
    assert "# Flux entry point for prod (keep this comment)" in (tmp_path / "clusters/prod.yaml").read_text()
    assert "clusters/prod.yaml" in report.updated
    assert known_environments(tmp_path) == ["dev", "prod"]


def test_init_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "prod.yaml").write_text(FLUX_KS)
    init_repo(tmp_path, ["dev", "prod"])
    before = _snapshot(tmp_path)
    again = init_repo(tmp_path, ["dev", "prod"])
    assert not again.changed
    assert _snapshot(tmp_path) == before


def test_init_completes_existing_files(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n*.agekey\n")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        "# ours\nrepos:\n  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v4.6.0\n"
        "    hooks:\n      - id: trailing-whitespace\n")
    (tmp_path / ".sops.yaml").write_text("# team\ncreation_rules:\n  - path_regex: ^legacy/\n    pgp: ABC\n")
    report = init_repo(tmp_path, ["prod"])
    gitignore = (tmp_path / ".gitignore").read_text()
    assert gitignore.startswith("node_modules/\n*.agekey\n")
    assert gitignore.count("*.agekey") == 1 and "*.dec.yaml" in gitignore
    pre_commit = (tmp_path / ".pre-commit-config.yaml").read_text()
    assert "# ours" in pre_commit and "trailing-whitespace" in pre_commit and "sopskit-scan" in pre_commit
    config = load_config(tmp_path / ".sops.yaml")
    assert [r.path_regex for r in config.creation_rules] == ["^legacy/", "^flux/secrets/prod/"]
    assert "# team" in (tmp_path / ".sops.yaml").read_text()
    assert set(report.updated) >= {".gitignore", ".pre-commit-config.yaml", ".sops.yaml"}


def test_existing_decryption_block_is_left_alone(tmp_path: Path) -> None:
    text = FLUX_KS.replace("  prune: true\n", "  prune: true\n  decryption:\n    provider: sops\n"
                           "    secretRef:\n      name: custom-key\n")
    (tmp_path / "ks.yaml").write_text(text)
    init_repo(tmp_path, ["prod"])
    assert (tmp_path / "ks.yaml").read_text() == text


def test_kustomization_covering_a_parent_folder_is_wired(tmp_path: Path) -> None:
    (tmp_path / "ks.yaml").write_text(FLUX_KS.replace("./flux/secrets/prod", "./flux"))
    init_repo(tmp_path, ["prod"])
    docs = list(yaml.safe_load_all((tmp_path / "ks.yaml").read_text()))
    assert docs[0]["spec"]["decryption"]["secretRef"]["name"] == "sops-age"


def test_add_kustomization_resource(tmp_path: Path) -> None:
    path = tmp_path / "kustomization.yaml"
    assert add_kustomization_resource(path, "db.yaml")
    assert add_kustomization_resource(path, "api.yaml")
    assert not add_kustomization_resource(path, "db.yaml")
    assert yaml.safe_load(path.read_text())["resources"] == ["db.yaml", "api.yaml"]


def test_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        init_repo(tmp_path, ["../etc"])
    with pytest.raises(UsageError):
        init_repo(tmp_path, [])


def test_template_and_regex() -> None:
    doc = yaml.safe_load(secret_template("prod", "db"))
    assert doc == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
                   "type": "Opaque", "stringData": {"key": "value"}}
    assert env_path_regex("prod") == "^flux/secrets/prod/"


# -- an existing repository: change only what must change -------------------------------------

REAL_LAYOUT = """\
---
# yaml-language-server: $schema=https://example.invalid/kustomization.json
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: secrets
  namespace: flux-system
spec:
    interval: 1h   # odd indentation and a comment: both must survive
    path: "./flux/secrets"
    sourceRef:
        kind: GitRepository
        name: flux-system
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: upstream
  namespace: flux-system
spec:
  interval: 1h
  path: ./
  sourceRef:
    kind: OCIRepository
    name: flux-manifests
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: other-repo
  namespace: flux-system
spec:
  interval: 1h
  path: ./
  sourceRef:
    kind: GitRepository
    name: vendor
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: vendor
  namespace: flux-system
spec:
  url: https://example.invalid/vendor/charts
"""


def test_init_inserts_decryption_as_text_and_only_for_this_repository(tmp_path: Path) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "flux.yaml").write_text(REAL_LAYOUT)
    report = init_repo(tmp_path, ["prod"])
    assert "clusters/flux.yaml" in report.updated
    after = (tmp_path / "clusters" / "flux.yaml").read_text()
    added = "    decryption:\n      provider: sops\n      secretRef:\n        name: sops-age\n"
    # the only change is the inserted block, at the indentation the file uses for spec
    assert after == REAL_LAYOUT.replace("spec:\n    interval: 1h", "spec:\n" + added + "    interval: 1h", 1)
    docs = list(yaml.safe_load_all(after))
    assert docs[0]["spec"]["decryption"]["provider"] == "sops"
    assert "decryption" not in docs[1]["spec"]  # OCIRepository: built elsewhere
    assert "decryption" not in docs[2]["spec"]  # another Git repository
    assert init_repo(tmp_path, ["prod"]).changed is False


def test_a_git_source_with_this_repositorys_url_is_ours(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@example.invalid:team/fleet.git"],
                   check=True)
    layout = REAL_LAYOUT.replace("https://example.invalid/vendor/charts", "ssh://git@example.invalid/team/fleet")
    (tmp_path / "flux.yaml").write_text(layout)
    init_repo(tmp_path, ["prod"])
    docs = list(yaml.safe_load_all((tmp_path / "flux.yaml").read_text()))
    assert docs[2]["spec"]["decryption"]["secretRef"]["name"] == "sops-age"
    assert "decryption" not in docs[1]["spec"]


def test_leading_document_marker_and_comments_survive(tmp_path: Path) -> None:
    kustomization = tmp_path / "flux" / "secrets" / "prod" / "kustomization.yaml"
    kustomization.parent.mkdir(parents=True)
    kustomization.write_text("---\n# managed by hand\nresources:\n  - a.yaml\n")
    (tmp_path / ".sops.yaml").write_text("---\n# rules\ncreation_rules:\n  - path_regex: apps/\n    age: age1x\n")
    init_repo(tmp_path, ["prod"])
    add_kustomization_resource(kustomization, "b.yaml")
    assert kustomization.read_text().startswith("---\n# managed by hand\nresources:\n")
    assert (tmp_path / ".sops.yaml").read_text().startswith("---\n# rules\ncreation_rules:\n")


def test_gitignore_covers_sopskit_temp_files(tmp_path: Path) -> None:
    from sopskit.policy.checks.gitignore import is_ignored

    init_repo(tmp_path, ["prod"])
    text = (tmp_path / ".gitignore").read_text()
    # the name ops.files.atomic_write gives its temp file
    assert is_ignored(text, "flux/secrets/prod/.db.yaml.k2j3h4.sopskit-tmp")
