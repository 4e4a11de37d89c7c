"""One test per broken link of the chain: ``doctor`` names exactly that link (and no value)."""

from __future__ import annotations

from pathlib import Path

from sopskit.doctor import Options, Report, diagnose
from sopskit.keys.age import generate_identity
from tests.doctor.conftest import SECRET_YAML, GitOpsRepo


def _first_failure(report: Report, rel: str) -> str | None:
    failed = [c.id for c in report.checks if c.file == rel and c.status == "fail"]
    assert len(failed) <= 1, failed  # the chain stops at the first broken link
    return failed[0] if failed else None


def test_healthy_repository_has_no_failure_offline(gitops: GitOpsRepo) -> None:
    report = diagnose(gitops.root)
    assert report.ok, [c for c in report.checks if c.status == "fail"]
    ids = [c.id for c in report.checks if c.file == "apps/db.yaml"]
    assert ids[:6] == ["sops.parse", "sops.recipients", "sopsyaml.rule", "sopsyaml.shadow",
                       "flux.kustomization", "flux.decryption"]
    statuses = {c.id: c.status for c in report.checks if c.file == "apps/db.yaml"}
    assert statuses["cluster.secret"] == "unknown" and statuses["sops.mac"] == "unknown"


def test_malformed_file(gitops: GitOpsRepo) -> None:
    path = gitops.root / "apps/db.yaml"
    path.write_text(path.read_text().replace("sops:", "sops: [broken", 1))
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "sops.parse"


def test_file_without_keys(gitops: GitOpsRepo) -> None:
    path = gitops.root / "apps/db.yaml"
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    age:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(("      ", "    -")))
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n")
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "sops.recipients"


def test_recipient_changed_in_the_rule(gitops: GitOpsRepo) -> None:
    newcomer = generate_identity()[1]
    gitops.set_rules([{"path_regex": "^apps/", "age": f"{gitops.recipient},{newcomer}"}])
    report = diagnose(gitops.root)
    assert _first_failure(report, "apps/db.yaml") == "sopsyaml.rule"
    check = next(c for c in report.checks if c.status == "fail")
    assert newcomer in check.message and check.fix == "sopskit updatekeys -y apps/db.yaml"


def test_no_rule_matches(gitops: GitOpsRepo) -> None:
    gitops.set_rules([{"path_regex": "^other/", "age": gitops.recipient}])
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "sopsyaml.rule"


def test_catch_all_rule_shadows_the_rule_for_the_path(gitops: GitOpsRepo) -> None:
    gitops.set_rules([{"age": gitops.recipient}, {"path_regex": "^apps/", "age": gitops.recipient}])
    report = diagnose(gitops.root)
    assert _first_failure(report, "apps/db.yaml") == "sopsyaml.shadow"
    rule_wins = [c for c in report.checks if c.id == "sopsyaml.rule-wins"]
    assert rule_wins and rule_wins[0].status == "fail" and "#2" in rule_wins[0].message


def test_specific_rule_before_catch_all_is_fine(gitops: GitOpsRepo) -> None:
    gitops.set_rules([{"path_regex": "^apps/", "age": gitops.recipient}, {"age": gitops.recipient}])
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") is None


def test_file_no_kustomization_builds(gitops: GitOpsRepo) -> None:
    gitops.encrypt("apps/orphan.yaml", SECRET_YAML.format(name="orphan", value="x"))
    report = diagnose(gitops.root)
    assert _first_failure(report, "apps/orphan.yaml") == "flux.kustomization"
    assert _first_failure(report, "apps/db.yaml") is None


def test_kustomization_without_decryption(gitops: GitOpsRepo) -> None:
    gitops.set_ks({"decryption": None})
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "flux.decryption"


def test_kustomization_without_secret_ref(gitops: GitOpsRepo) -> None:
    gitops.set_ks({"decryption": {"provider": "sops"}})
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "flux.decryption"


def test_recorded_cluster_key_is_not_a_recipient(gitops: GitOpsRepo) -> None:
    gitops.write("clusters/prod/.sops.pub.age", generate_identity()[1] + "\n")
    assert _first_failure(diagnose(gitops.root), "apps/db.yaml") == "cluster.recipient"
    gitops.write("clusters/prod/.sops.pub.age", gitops.recipient + "\n")
    report = diagnose(gitops.root)
    assert report.ok
    assert {c.id: c.status for c in report.checks if c.file == "apps/db.yaml"}["cluster.recipient"] == "ok"


def test_kustomization_filter_and_scope(gitops: GitOpsRepo) -> None:
    gitops.encrypt("apps/orphan.yaml", SECRET_YAML.format(name="orphan", value="x"))
    only = diagnose(gitops.root, Options(kustomization=("flux-system", "apps")))
    assert only.files == 1 and only.ok
    scoped = diagnose(gitops.root, Options(scope="apps/orphan.yaml"))
    assert scoped.files == 1 and not scoped.ok


def test_no_message_carries_a_value(gitops: GitOpsRepo, tmp_path: Path) -> None:
    gitops.encrypt("apps/orphan.yaml", SECRET_YAML.format(name="orphan", value="pw-very-secret-9"))
    text = repr(diagnose(gitops.root).to_json())
    assert "pw-very-secret-9" not in text and "pw-1" not in text and "AGE-SECRET-KEY" not in text
