"""``sopskit review`` on a scripted history: each kind of change is named, no value appears."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli._support import run
from tests.review._repo import GitRepo, make_repo

VALUES = {
    "db": {"password": "hunter2-Pa55word-original", "user": "admin-user-7f3a"},
    "api": {"token": "tok-9c1e77ab3d0f-secret"},
    "cache": {"password": "cache-pw-4be1d2c9"},
}
NEW_PASSWORD = "rotated-Pa55word-f00dface"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, dict[str, str]]:
    repo = make_repo(tmp_path_factory.mktemp("review"))
    repo.write_secret("secrets/db.yaml", "db", "app", VALUES["db"])
    repo.write_secret("secrets/api.yaml", "api-token", "app", VALUES["api"])
    repo.write_secret("secrets/cache.yaml", "cache", "app", VALUES["cache"])
    commits = {"initial": repo.commit("initial")}
    repo.sopskit("set", "secrets/db.yaml", '["stringData"]["password"]', json.dumps(NEW_PASSWORD))
    commits["value_edit"] = repo.commit("value edit")
    repo.sopskit("rotate", "-i", "secrets/db.yaml")
    commits["rotation"] = repo.commit("data key rotation")
    repo.sopskit("rotate", "-i", "--add-age", repo.other.recipient, "secrets/api.yaml")
    commits["new_recipient"] = repo.commit("new recipient")
    repo.sopskit("decrypt", "-i", "secrets/api.yaml")
    commits["decrypted"] = repo.commit("decrypted by mistake")
    repo.sopskit("set", "secrets/cache.yaml", '["metadata"]["namespace"]', '"other"')
    commits["namespace"] = repo.commit("namespace change")
    return repo, commits


def review(repo: GitRepo, *args: str) -> tuple[str, str]:
    out = run(["review", *args], env=repo.env, cwd=repo.root)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode(), out.stderr.decode()


def review_json(repo: GitRepo, rng: str, *extra: str) -> dict[str, Any]:
    text, _ = review(repo, rng, "--format", "json", *extra)
    data: dict[str, Any] = json.loads(text)
    return data


def only(data: dict[str, Any], path: str) -> dict[str, Any]:
    files = [f for f in data["files"] if f["path"] == path]
    assert len(files) == 1, data
    return files[0]


def all_values() -> list[str]:
    return [v for group in VALUES.values() for v in group.values()] + [NEW_PASSWORD]


def assert_no_value(text: str) -> None:
    for value in all_values():
        assert value not in text


def test_value_edit_names_the_key_and_its_consumers(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    data = review_json(repo, f"{c['initial']}..{c['value_edit']}")
    assert [f["path"] for f in data["files"]] == ["secrets/db.yaml"]
    f = only(data, "secrets/db.yaml")
    assert (f["kind"], f["namespace"], f["name"], f["status"]) == ("Secret", "app", "db", "modified")
    assert f["keys_changed"] == ["stringData.password"]  # the untouched user keeps its ciphertext
    assert f["keys_added"] == f["keys_removed"] == []
    assert f["rule_matches"] is True and f["mac_changed"] is True
    assert {(x["kind"], x["name"], x["via"]) for x in f["consumers"]} == {
        ("Deployment", "api", "env"), ("StatefulSet", "worker", "volume")}
    assert f["restart_hints"] == ["kubectl rollout restart deployment/api -n app"]
    assert set(f) >= {"path", "kind", "namespace", "name", "status", "keys_added", "keys_removed",
                      "keys_changed", "recipients_added", "recipients_removed", "rule_matches", "consumers"}
    for consumer in f["consumers"]:
        assert set(consumer) == {"kind", "namespace", "name", "via"}


def test_rotation_is_told_apart_with_a_key(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    rng = f"{c['value_edit']}..{c['rotation']}"
    f = only(review_json(repo, rng), "secrets/db.yaml")
    assert f["data_key_rotated"] is True
    assert f["keys_changed"] == ["stringData.password", "stringData.user"]
    assert f["values_changed"] is None
    keyed = only(review_json(repo, rng, "--with-keys"), "secrets/db.yaml")
    assert keyed["values_changed"] == []  # rotation re-encrypted, changed nothing
    edit = only(review_json(repo, f"{c['initial']}..{c['value_edit']}", "--with-keys"), "secrets/db.yaml")
    assert edit["values_changed"] == ["stringData.password"]


def test_new_recipient_breaks_the_rule(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    f = only(review_json(repo, f"{c['rotation']}..{c['new_recipient']}"), "secrets/api.yaml")
    assert f["recipients_added"] == [f"age {repo.other.recipient}"]
    assert f["recipients_removed"] == []
    assert f["rule_matches"] is False
    assert [(x["name"], x["via"]) for x in f["consumers"]] == [("api", "env")]


def test_decrypted_by_mistake(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    rng = f"{c['new_recipient']}..{c['decrypted']}"
    f = only(review_json(repo, rng), "secrets/api.yaml")
    assert f["status"] == "decrypted" and f["rule_matches"] is False
    assert f["recipients_removed"] == sorted([f"age {repo.key.recipient}", f"age {repo.other.recipient}"])
    text, _ = review(repo, rng)
    assert "DECRYPTED" in text
    md, _ = review(repo, rng, "--format", "md")
    assert "left encryption" in md
    assert_no_value(text + md)


def test_namespace_change(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    f = only(review_json(repo, f"{c['decrypted']}..{c['namespace']}"), "secrets/cache.yaml")
    assert f["namespace"] == "other" and f["previous"] == {"namespace": "app", "name": "cache"}
    assert f["consumers"] == []  # the HelmRelease that reads it lives in app, not other
    text, _ = review(repo, f"{c['decrypted']}..{c['namespace']}")
    assert "moved: was app/cache" in text


def test_whole_history_in_every_format_holds_no_value(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, c = history
    rng = f"{c['initial']}..{c['namespace']}"
    outputs = []
    for fmt in ("text", "json", "md"):
        for extra in ((), ("--with-keys",)):
            out, err = review(repo, rng, "--format", fmt, *extra)
            outputs += [out, err]
    joined = "\n".join(outputs)
    assert "secrets/db.yaml" in joined and "secrets/api.yaml" in joined and "secrets/cache.yaml" in joined
    assert_no_value(joined)
    assert "ENC[" not in joined


def test_helm_values_consumer_and_empty_range(history: tuple[GitRepo, dict[str, str]]) -> None:
    from sopskit.policy.repo import load_repo
    from sopskit.review.consumers import find_consumers, restart_hints

    repo, c = history
    assert review_json(repo, f"{c['initial']}..{c['initial']}")["files"] == []
    found = find_consumers(load_repo(repo.root), "app", "cache")
    assert [(x.kind, x.name, x.via) for x in found] == [("HelmRelease", "cache", "other")]
    assert restart_hints(found) == []
    assert find_consumers(load_repo(repo.root), "elsewhere", "db") == []


def test_working_tree_changes_are_reviewed(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, _ = history
    before = (repo.root / "secrets" / "db.yaml").read_bytes()
    try:
        repo.sopskit("set", "secrets/db.yaml", '["stringData"]["extra"]', '"another-secret-value-1"')
        out, _ = review(repo, "--format", "json")
        g = only(json.loads(out), "secrets/db.yaml")
        assert g["keys_added"] == ["stringData.extra"] and g["keys_changed"] == []
        assert "another-secret-value-1" not in out
    finally:
        (repo.root / "secrets" / "db.yaml").write_bytes(before)


def test_bad_range_is_one_line_error(history: tuple[GitRepo, dict[str, str]]) -> None:
    repo, _ = history
    out = run(["review", "no-such-ref..HEAD"], env=repo.env, cwd=repo.root)
    assert out.returncode != 0
    assert b"unknown revision" in out.stderr and b"Traceback" not in out.stderr


def test_helm_values_file_and_symlink_are_handled(tmp_path: Path) -> None:
    import os

    from sopskit.policy.repo import load_repo
    from sopskit.review.consumers import find_consumers
    from sopskit.review.gitrev import Range, read_at

    repo = make_repo(tmp_path)
    chart = repo.root / "charts" / "web"
    chart.mkdir(parents=True)
    (chart / "values-prod.yaml").write_text("auth:\n  existingSecret: db\n")
    (repo.root / "link.yaml").symlink_to(repo.root / "app" / "deploy.yaml")
    head = repo.commit("values and a symlink")
    found = find_consumers(load_repo(repo.root), "app", "db")
    assert ("HelmValues", "charts/web/values-prod.yaml", "other") in {(c.kind, c.name, c.via) for c in found}
    assert read_at(repo.root, head, "link.yaml") is None
    assert read_at(repo.root, head, "app/deploy.yaml") is not None
    assert read_at(repo.root, None, "link.yaml") is None and os.path.islink(repo.root / "link.yaml")
    assert Range(head, None).label.endswith("(working tree)")


def test_from_cluster_key_tells_real_changes(history: tuple[GitRepo, dict[str, str]], tmp_path: Path) -> None:
    from testing.k8s_server import ADMIN, FakeKubeServer, User

    repo, c = history
    with FakeKubeServer(tokens={"admin-token": User("admin", ADMIN)}) as server:
        server.add_secret("flux-system", "sops-age", {"age.agekey": (repo.key.identity + "\n").encode()})
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", token="admin-token")
        env = {k: v for k, v in repo.env.items() if k != "SOPS_AGE_KEY_FILE"}
        out = run(["review", f"{c['value_edit']}..{c['rotation']}", "--format", "json", "--from-cluster",
                   "--kubeconfig", str(kubeconfig)], env=env, cwd=repo.root)
    assert out.returncode == 0, out.stderr.decode()
    assert only(json.loads(out.stdout), "secrets/db.yaml")["values_changed"] == []
    assert_no_value(out.stdout.decode() + out.stderr.decode())


def test_markdown_neutralises_names_from_the_repository() -> None:
    from sopskit.review.changes import FileChange, Review
    from sopskit.review.render import to_markdown

    evil = "<img src=x onerror=alert(1)>`](https://evil.example)|**x**"
    change = FileChange(path=f"secrets/{evil}.yaml", status="modified", kind="Secret", namespace="app",
                        name=evil, keys_added=[evil])
    md = to_markdown(Review("a..b", [change]))
    assert "<img" not in md and "](" not in md and "**x**" not in md and "`" not in md
    assert md.count("| ") >= 8  # the table still has its own columns only
    from sopskit.review.render import to_text

    change.keys_added = ["\x1b[2Jfake\rline"]
    assert "\x1b" not in to_text(Review("a..b", [change])) and "\r" not in to_text(Review("a..b", [change]))
