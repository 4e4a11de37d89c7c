"""Report rendering: JSON and SARIF shapes, and no secret value in any format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sopskit.policy import Report, check_policy, render, render_json, render_sarif, render_text
from tests.policy.conftest import RepoFactory

SECRET_VALUE = "pA55w0rd-must-never-be-printed"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TF_DEFAULT = "tf-literal-default-value"


@pytest.fixture()
def leaky_repo(make_repo: RepoFactory) -> Path:
    return make_repo(
        {
            "apps/prod/secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\n"
                f"stringData:\n  password: {SECRET_VALUE}\n"
            ),
            "apps/prod/.env": f"PASSWORD={SECRET_VALUE}\n",
            "aws/credentials": f"[default]\naws_secret_access_key = {AWS_SECRET}\n",
            "main.tf": f'variable "db_password" {{\n  default = "{TF_DEFAULT}"\n}}\n',
            "broken.yaml": f"password: {SECRET_VALUE}\n  bad: [\n",
            ".sops.yaml": "creation_rules:\n  - age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n",
            "ops/kubeconfig": (
                "apiVersion: v1\nkind: Config\nclusters: []\n"
                f"users:\n  - name: u\n    user:\n      token: {SECRET_VALUE}\n"
            ),
        },
        gitignore="",
    )


@pytest.fixture()
def report(leaky_repo: Path) -> Report:
    return check_policy(leaky_repo)


def test_the_fixture_triggers_many_checks(report: Report) -> None:
    assert {v.check_id for v in report.violations} >= {
        "plaintext-secret",
        "production-dotenv",
        "cloud-credentials",
        "terraform-secret-default",
        "yaml-parse-error",
        "kubeconfig",
        "gitignore-agekey",
    }


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_secret_value_in_any_output(report: Report, fmt: str) -> None:
    rendered = render(report, fmt)
    for value in (SECRET_VALUE, AWS_SECRET, TF_DEFAULT):
        assert value not in rendered
    assert SECRET_VALUE not in repr(report)


def test_text_lists_location_id_message_fix_and_summary(report: Report) -> None:
    text = render_text(report)
    assert "apps/prod/secret.yaml:4: [plaintext-secret] Secret 'db'" in text
    assert text.count("    fix: ") == len(report.violations)
    assert text.rstrip().endswith(
        f"{len(report.violations)} violations in {len({v.path for v in report.violations})} "
        f"files ({len(report.checks)} checks)"
    )


def test_json_shape(report: Report) -> None:
    data = json.loads(render_json(report))
    assert data["version"] == 1 and data["tool"] == "sopskit" and data["suite"] == "policy"
    assert data["summary"]["violations"] == len(data["violations"]) == len(report.violations)
    assert data["summary"]["checks"] == [c.id for c in report.checks]
    for item in data["violations"]:
        assert set(item) == {"check", "path", "line", "message", "fix"}
        assert item["check"] in data["summary"]["checks"]
        assert item["line"] is None or (isinstance(item["line"], int) and item["line"] >= 1)
        assert not item["path"].startswith("/")


def test_sarif_shape(report: Report) -> None:
    sarif = json.loads(render_sarif(report))
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sopskit"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == [c.id for c in report.checks]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file://")
    assert len(run["results"]) == len(report.violations)
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] == "error" and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        if "region" in physical:
            assert physical["region"]["startLine"] >= 1


def test_clean_report(make_repo: RepoFactory) -> None:
    clean = check_policy(make_repo({"README.md": "hello\n"}))
    assert clean.ok and clean.exit_code == 0
    text = render_text(clean)
    # nothing in this repository for most checks: the summary says so instead of "passed"
    passed = [s.check_id for s in clean.statuses if s.status == "passed"]
    assert text.startswith(f"ok: {len(passed)} checks passed"), text
    assert "not applicable" in text and "with nothing to check" in text
    status = {s.check_id: s.status for s in clean.statuses}
    assert status["plaintext-secret"] == "nothing-to-check"
    assert status["externalsecret-prefix"] == "not-applicable"
    assert status["private-key"] == "passed"
    verbose = render_text(clean, verbose=True)
    expected = "check externalsecret-prefix" + ": not-applicable: sopskit.externalsecret_prefixes is not set"
    assert expected in verbose
    data = json.loads(render_json(clean))
    assert data["summary"]["check_status"]["plaintext-secret"] == {
        "status": "nothing-to-check", "evaluated": 0, "reason": "", "notes": []
    }
    assert json.loads(render_sarif(clean))["runs"][0]["results"] == []
