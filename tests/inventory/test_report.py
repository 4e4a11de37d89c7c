"""The maturity report of the made-up organisation: levels, checklist, and the HTML page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.inventory.collect import collect
from sopskit.inventory.maturity import grade
from sopskit.inventory.render import report_html, report_markdown, report_text
from tests.inventory.conftest import NOW, SECRET_VALUES, OrgRepo


def _answers(root: Path) -> tuple[int, dict[str, str]]:
    report = grade(collect(root, now=NOW))
    return report.level, {a.item.split(" (")[0]: a.answer for a in report.checklist}


def test_levels_follow_the_evidence(org_repo: OrgRepo) -> None:
    level, answers = _answers(org_repo.root)
    assert level == 1  # encrypted, but no scanner in pre-commit or CI
    assert answers["A secret scanner runs before commit or in CI"] == "no"
    assert answers["Each environment has its own recipients"] == "no"  # cluster/nonprod opens dev and staging
    assert answers["CI cannot decrypt production"] == "yes"
    assert answers["Every secret has an owner"] == "yes"

    (org_repo.root / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: https://github.com/sopskit/sopskit\n    rev: v0.1.0\n    hooks: [{id: sopskit-scan}]\n")
    level, _ = _answers(org_repo.root)
    assert level == 2
    report = grade(collect(org_repo.root, now=NOW))
    assert any("own recipients" in item for item in report.missing_for_next)

    (org_repo.root / "apps/leak.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: leak, namespace: app-dev}\nstringData: {token: abc}\n")
    level, answers = _answers(org_repo.root)
    assert level == 0
    assert answers["No plaintext Secret manifests in the repository"] == "no"


def test_ci_key_on_a_production_file_is_a_no(org_repo: OrgRepo) -> None:
    holders = org_repo.root / ".sopskit-holders.yaml"
    holders.write_text(holders.read_text().replace("holder: bob@example.com\n    kind: person",
                                                   "holder: ci/deploy\n    kind: ci"))
    _, answers = _answers(org_repo.root)
    assert answers["CI cannot decrypt production"] == "no"


def test_json_interface(org_repo: OrgRepo) -> None:
    out = subprocess.run([sys.executable, "-m", "sopskit", "report", "--format", "json", str(org_repo.root)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["level"] in range(6)
    assert data["checklist"] and all(set(item) >= {"item", "answer", "evidence"} for item in data["checklist"])
    assert {item["answer"] for item in data["checklist"]} <= {"yes", "no", "unknown"}


def test_no_output_form_holds_a_value_or_an_identity(org_repo: OrgRepo) -> None:
    report = grade(collect(org_repo.root, now=NOW))
    for text in (report_text(report), report_markdown(report), report_html(report), json.dumps(report.to_json())):
        for secret in (*SECRET_VALUES, *org_repo.identities.values(), "AGE-SECRET-KEY"):
            assert secret not in text


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (Debian package `chromium`)")
        pytest.skip("chromium not installed")
    return exe


def _open_in_browser(page: Path) -> tuple[str, list[str]]:
    """The DOM chromium renders for ``page`` and the console messages it logged."""
    proc = subprocess.run(
        [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--user-data-dir=" + str(page.parent / "chromium-profile"), "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def test_console_check_sees_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><head><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\"></head>"
                    "<body><img src='https://example.invalid/x.png'></body></html>")
    _, console = _open_in_browser(page)
    assert console, "the console check must see a blocked network fetch"


def test_html_report_renders_in_a_real_browser_with_a_clean_console(org_repo: OrgRepo, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "sopskit", "report", "--format", "html", "--output", str(page),
                    str(org_repo.root)], check=True, capture_output=True)
    dom, console = _open_in_browser(page)
    assert console == []
    assert 'id="matrix"' in dom and "cluster/prod" in dom and "alice@example.com" in dom
    assert "Level 1 of 5" in dom
    for secret in (*SECRET_VALUES, *org_repo.identities.values()):
        assert secret not in dom


def test_rbac_item_is_no_when_a_workload_reads_all_secrets(org_repo: OrgRepo) -> None:
    _, answers = _answers(org_repo.root)
    assert answers["Access to Secrets and to the decryption key is restricted"] == "unknown"
    (org_repo.root / "apps/rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: all}\nrules:\n"
        "  - {apiGroups: [''], resources: [secrets], verbs: [list]}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: web-all}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: all}\n"
        "subjects: [{kind: ServiceAccount, name: default, namespace: shop}]\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec: {template: {spec: {containers: [{name: web, image: nginx}]}}}\n")
    _, answers = _answers(org_repo.root)
    assert answers["Access to Secrets and to the decryption key is restricted"] == "no"
