"""The seed's Azure flow through the real entry point: ``repo init --azure-kv`` on a bootstrapped
repository, ``doctor`` names the missing Flux wiring, ``repo init --azure-identity`` adds it,
``doctor`` passes, a third run changes nothing. The SOPS file is a made-up metadata block (doctor
reads metadata only; the Key Vault round trip is tests/keys/test_azure_kv.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.doctor.test_cloudauth import cloud_file

SOPSKIT = [sys.executable, "-m", "sopskit"]
URL = "https://example-vault.vault.azure.net/keys/sops-key/0123456789abcdef0123456789abcdef"
CLIENT = "00000000-0000-0000-0000-0000000000aa"


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "AZURE_"))}
    return subprocess.run([*SOPSKIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _bootstrapped(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    flux = root / "clusters/prod/flux-system"
    flux.mkdir(parents=True)
    (flux / "gotk-components.yaml").write_text("# made-up stub\n")
    (flux / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "- gotk-components.yaml\n- gotk-sync.yaml\n")
    (root / "clusters/prod/secrets.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: secrets\n"
        "  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./flux/secrets/prod\n  sourceRef:\n"
        "    kind: GitRepository\n    name: flux-system\n")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_azure_seed_repo_init_then_doctor(tmp_path: Path) -> None:
    _bootstrapped(tmp_path)
    first = _run(tmp_path, "repo", "init", "--env", "prod", "--azure-kv", URL)
    assert first.returncode == 0, first.stderr
    assert "note: the rules use Azure Key Vault" in first.stdout and "--azure-identity CLIENT_ID" in first.stdout
    (tmp_path / "flux/secrets/prod/db.yaml").write_text(cloud_file("azure_kv"))
    (tmp_path / "flux/secrets/prod/kustomization.yaml").write_text("resources:\n- db.yaml\n")

    broken = _run(tmp_path, "doctor", "--format", "json")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    failed = [c for c in json.loads(broken.stdout)["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["flux.kms-auth"] and "sops.azure-kv" in failed[0]["message"]

    wired = _run(tmp_path, "repo", "init", "--env", "prod", "--azure-identity", CLIENT)
    assert wired.returncode == 0 and "updated clusters/prod/flux-system/kustomization.yaml" in wired.stdout
    healthy = _run(tmp_path, "doctor")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    before = _snapshot(tmp_path)
    again = _run(tmp_path, "repo", "init", "--env", "prod", "--azure-identity", CLIENT)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert _snapshot(tmp_path) == before


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    _bootstrapped(tmp_path)
    both = _run(tmp_path, "repo", "init", "--azure-identity", CLIENT, "--azure-secret")
    assert both.returncode != 0 and "Traceback" not in both.stderr
    not_guid = _run(tmp_path, "repo", "init", "--azure-identity", "flux-identity")
    assert not_guid.returncode != 0 and "not a GUID" in not_guid.stderr and "Traceback" not in not_guid.stderr
    bad_url = _run(tmp_path, "repo", "init", "--azure-kv", "https://example-vault.vault.azure.net/sops")
    assert bad_url.returncode != 0 and "azure_kv" in bad_url.stderr and not (tmp_path / ".sops.yaml").exists()
