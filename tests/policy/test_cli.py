"""The real entry point in a subprocess: exit codes, formats, --output, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.policy.conftest import RepoFactory

PLAIN = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: cli-secret-value\n"


def sopskit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sopskit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_policy_check_exit_codes(make_repo: RepoFactory) -> None:
    root = make_repo({"s.yaml": PLAIN})
    dirty = sopskit("policy", "check", str(root))
    assert dirty.returncode == 1, dirty.stderr
    assert "s.yaml:4: [plaintext-secret]" in dirty.stdout
    assert "cli-secret-value" not in dirty.stdout + dirty.stderr
    clean = sopskit("policy", "check", str(root), "--disable", "plaintext-secret")
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.startswith("ok: ")


def test_default_path_is_the_working_directory(make_repo: RepoFactory) -> None:
    root = make_repo({"s.yaml": PLAIN})
    result = sopskit("policy", "check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert [v["check"] for v in json.loads(result.stdout)["violations"]] == ["plaintext-secret"]


def test_sarif_to_file(make_repo: RepoFactory, tmp_path: Path) -> None:
    root = make_repo({"s.yaml": PLAIN})
    out = tmp_path / "policy.sarif"
    result = sopskit("policy", "check", str(root), "--format", "sarif", "--output", str(out))
    assert result.returncode == 1
    assert result.stdout == ""
    assert json.loads(out.read_text())["runs"][0]["results"][0]["ruleId"] == "plaintext-secret"


def test_flux_validate_exit_codes(make_repo: RepoFactory) -> None:
    root = make_repo({"k/kustomization.yaml": "resources: [missing.yaml]\n"})
    result = sopskit("flux", "validate", str(root))
    assert result.returncode == 1
    assert "[kustomize-missing-file]" in result.stdout
    (root / "k" / "missing.yaml").write_text("kind: ConfigMap\n")
    assert sopskit("flux", "validate", str(root)).returncode == 0


def test_unknown_check_id_and_missing_path_are_errors(tmp_path: Path) -> None:
    bad_id = sopskit("policy", "check", str(tmp_path), "--only", "no-such-check")
    assert bad_id.returncode == 1 and "unknown check id" in bad_id.stderr
    missing = sopskit("flux", "validate", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a directory" in missing.stderr


def test_invalid_settings_are_a_config_error(make_repo: RepoFactory) -> None:
    root = make_repo({".sops.yaml": "sopskit:\n  production_path: ['x']\n"})
    result = sopskit("policy", "check", str(root))
    assert result.returncode == 1
    assert "unknown key(s) in the sopskit section: production_path" in result.stderr


def test_list_checks() -> None:
    result = sopskit("flux", "validate", "--list-checks")
    assert result.returncode == 0
    assert "flux-decryption-key-name" in result.stdout and "plaintext-secret" not in result.stdout
