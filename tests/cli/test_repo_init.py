"""``sopskit repo init`` through the real entry point: layout, idempotence, then a cluster key fits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from sopskit.config import load_config
from sopskit.keys.age import generate_identity
from sopskit.ops.sopsyaml_edit import add_age_recipient

SOPSKIT = [sys.executable, "-m", "sopskit"]


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    return subprocess.run([*SOPSKIT, "repo", "init", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_repo_init_then_again(tmp_path: Path) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters/flux.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: secrets\n"
        "spec:\n  path: ./flux/secrets\n  interval: 5m\n")
    first = _run(tmp_path, "--env", "dev", "--env", "prod")
    assert first.returncode == 0, first.stderr
    assert "created .sops.yaml" in first.stdout and "updated clusters/flux.yaml" in first.stdout
    config = load_config(tmp_path / ".sops.yaml")
    assert [r.path_regex for r in config.creation_rules] == ["^flux/secrets/dev/", "^flux/secrets/prod/"]
    assert (tmp_path / "flux/secrets/prod/kustomization.yaml").is_file()
    ks = yaml.safe_load((tmp_path / "clusters/flux.yaml").read_text())
    assert ks["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    before = _snapshot(tmp_path)
    second = _run(tmp_path, "--env", "dev", "--env", "prod")
    assert second.returncode == 0 and "nothing to do" in second.stdout
    assert _snapshot(tmp_path) == before


def test_repo_init_defaults_to_existing_environments(tmp_path: Path) -> None:
    (tmp_path / "flux/secrets/staging").mkdir(parents=True)
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "environments: staging" in proc.stdout
    rules = load_config(tmp_path / ".sops.yaml").creation_rules
    assert [r.path_regex for r in rules] == ["^flux/secrets/staging/"]


def test_cluster_recipient_lands_in_the_scaffolded_rule(tmp_path: Path) -> None:
    assert _run(tmp_path, "--env", "prod").returncode == 0
    recipient = generate_identity()[1]
    text = add_age_recipient((tmp_path / ".sops.yaml").read_text(), "^flux/secrets/prod/", recipient)
    (tmp_path / ".sops.yaml").write_text(text)
    config = load_config(tmp_path / ".sops.yaml")
    rule = config.rule_for(tmp_path / "flux/secrets/prod/db.yaml")
    assert rule is not None and rule.recipients("age") == [recipient]
    assert len(config.creation_rules) == 1


def test_repo_init_keeps_an_existing_repository_byte_for_byte_where_it_owns_nothing(tmp_path: Path) -> None:
    sops_yaml = "---\n# team rules\ncreation_rules:\n  - path_regex: ^apps/\n    age: age1x\n  - age: age1y\n"
    manifest = "---\n# upstream manifests, built elsewhere\napiVersion: kustomize.toolkit.fluxcd.io/v1\n" \
        "kind: Kustomization\nmetadata:\n  name: upstream\n  namespace: flux-system\n" \
        "spec:\n  path: ./\n  sourceRef:\n    kind: OCIRepository\n    name: upstream\n"
    (tmp_path / ".sops.yaml").write_text(sops_yaml)
    (tmp_path / "upstream.yaml").write_text(manifest)
    result = _run(tmp_path, "--env", "prod")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "upstream.yaml").read_text() == manifest  # another source: untouched
    after = (tmp_path / ".sops.yaml").read_text()
    assert after.startswith("---\n# team rules\ncreation_rules:\n  - path_regex: ^apps/\n")
    rules = yaml.safe_load(after)["creation_rules"]
    # the new rule sits before the catch-all rule that would shadow it
    assert [r.get("path_regex") for r in rules] == ["^apps/", "^flux/secrets/prod/", None]
    assert "*.sopskit-tmp" in (tmp_path / ".gitignore").read_text().splitlines()


def test_repo_init_refuses_when_it_cannot_tell_whether_a_rule_shadows_the_new_one(tmp_path: Path) -> None:
    sops_yaml = "creation_rules:\n  - path_regex: '(flux'\n    age: age1x\n"
    (tmp_path / ".sops.yaml").write_text(sops_yaml)
    result = _run(tmp_path, "--env", "prod")
    assert result.returncode != 0
    assert "rule #1" in result.stderr and "(flux" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / ".sops.yaml").read_text() == sops_yaml
