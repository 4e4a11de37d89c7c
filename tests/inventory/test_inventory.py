"""The inventory of the made-up organisation repository, asserted exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sopskit.inventory.collect import collect
from tests.inventory.conftest import NOW, SECRET_VALUES, OrgRepo


def _by_path(inventory_json: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {s["path"]: s for s in inventory_json["secrets"]}


def test_every_secret_bearing_object_with_environment_owner_and_keys(org_repo: OrgRepo) -> None:
    inv = collect(org_repo.root, now=NOW).to_json()
    found = {(s["path"], s["kind"], s["namespace"], s["name"], s["environment"], s["protection"], tuple(s["keys"]),
              s["owner"]) for s in inv["secrets"]}
    assert found == {
        ("flux/secrets/dev/db.yaml", "Secret", "app-dev", "db", "dev", "sops", ("password",), "@org/platform"),
        ("flux/secrets/staging/db.yaml", "Secret", "app-staging", "db", "staging", "sops", ("password",),
         "@org/platform"),
        ("flux/secrets/prod/db.yaml", "Secret", "app-prod", "db", "prod", "sops", ("api-key", "password"), "@org/sre"),
        ("apps/external.yaml", "ExternalSecret", "app-prod", "stripe-credentials", "prod", "external", ("api-key",),
         "@org/platform"),
        ("apps/sealed.yaml", "SealedSecret", "app-staging", "smtp", "staging", "sealed", ("password",),
         "@org/platform"),
    }
    assert _by_path(inv)["apps/external.yaml"]["remote_refs"] == ["prod/stripe"]


def test_last_changed_follows_value_ciphertexts_not_recipient_changes(org_repo: OrgRepo) -> None:
    secrets = _by_path(collect(org_repo.root, now=NOW).to_json())
    assert secrets["flux/secrets/prod/db.yaml"]["last_changed"].startswith("2026-11-21")
    assert secrets["flux/secrets/prod/db.yaml"]["rotation_due"] is False
    # updatekeys 5 days ago changed the file, not its values: still 200 days old, due
    assert secrets["flux/secrets/staging/db.yaml"]["last_changed"].startswith("2026-05-15")
    assert secrets["flux/secrets/staging/db.yaml"]["rotation_due"] is True
    assert secrets["flux/secrets/dev/db.yaml"]["rotation_due"] is True
    # a longer maximum age makes nothing due
    relaxed = collect(org_repo.root, now=NOW, max_age_days=365).to_json()
    assert not any(s["rotation_due"] for s in relaxed["secrets"])


def test_who_can_decrypt_what(org_repo: OrgRepo) -> None:
    holders = {h["holder"]: h for h in collect(org_repo.root, now=NOW).to_json()["holders"]}
    assert {name: (h["kind"], h["environments"], h["spans_environments"]) for name, h in holders.items()} == {
        "cluster/nonprod": ("cluster", ["dev", "staging"], True),
        "cluster/prod": ("cluster", ["prod"], False),
        "alice@example.com": ("person", ["dev", "staging"], True),
        "bob@example.com": ("person", ["prod", "staging"], True),  # added to staging by updatekeys
        "ci/github-actions": ("ci", ["dev"], False),
    }
    assert holders["cluster/prod"]["secrets"] == ["flux/secrets/prod/db.yaml#app-prod/db"]
    assert holders["cluster/prod"]["key"] == org_repo.keys["cluster-prod"]


def test_unlisted_recipients_are_unknown_holders(org_repo: OrgRepo) -> None:
    (org_repo.root / ".sopskit-holders.yaml").unlink()
    inv = collect(org_repo.root, now=NOW).to_json()
    assert {h["holder"] for h in inv["holders"]} == {"unknown"}
    assert any(".sopskit-holders.yaml" in note for note in inv["notes"])


def test_cli_json_holds_no_value_and_no_identity(org_repo: OrgRepo) -> None:
    out = subprocess.run([sys.executable, "-m", "sopskit", "inventory", "--format", "json", str(org_repo.root)],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["secrets"]
    for secret in (*SECRET_VALUES, *org_repo.identities.values()):
        assert secret not in out


def test_not_a_directory_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sopskit", "inventory", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") <= 2 and "Traceback" not in proc.stderr


def _cli_json(root: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-m", "sopskit", "inventory", str(root), "--format", "json", *extra],
                         capture_output=True, text=True, check=True).stdout
    data: dict = json.loads(out)  # type: ignore[type-arg]
    return data


def test_cli_reads_history_by_default_and_has_the_issue_fields(org_repo: OrgRepo) -> None:
    """Issue 16's interface, through the command line (a store_false default once turned history off)."""
    inv = _cli_json(org_repo.root)
    prod = _by_path(inv)["flux/secrets/prod/db.yaml"]
    assert prod["last_changed"].startswith("2026-11-21")
    assert _cli_json(org_repo.root, "--history") == inv
    assert _by_path(_cli_json(org_repo.root, "--no-history"))["flux/secrets/prod/db.yaml"]["last_changed"] is None
    for secret in inv["secrets"]:
        assert set(secret) >= {"path", "kind", "namespace", "name", "keys", "environment", "recipients",
                               "last_changed", "rotation_due"}
        assert isinstance(secret["keys"], list) and isinstance(secret["recipients"], list)
        assert isinstance(secret["rotation_due"], bool)
        for recipient in secret["recipients"]:  # the issue leaves the element open: {type, key, holder, ...}
            assert {"type", "key", "holder"} <= set(recipient)
    assert inv["holders"]
    for holder in inv["holders"]:
        assert set(holder) >= {"key", "holder", "environments", "secrets"}
        assert isinstance(holder["environments"], list) and isinstance(holder["secrets"], list)


def test_missing_directory_exits_2(tmp_path: Path) -> None:
    for command in ("inventory", "report"):
        proc = subprocess.run([sys.executable, "-m", "sopskit", command, str(tmp_path / "missing")],
                              capture_output=True, text=True)
        assert proc.returncode == 2, (command, proc.returncode)
