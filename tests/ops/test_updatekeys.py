"""The API the cluster key rotation calls: update_keys_file / update_keys_many."""

from __future__ import annotations

import json
from pathlib import Path

from sopskit.config import load_config
from sopskit.keys.base import KeyContext
from sopskit.ops.updatekeys import update_keys_file, update_keys_many
from tests.cli._support import base_env, encrypt_json, new_age_key


def test_update_keys_api(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    a, b = new_age_key(tmp_path, "a"), new_age_key(tmp_path, "b")
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(a.key_file))
    sub = tmp_path / "secrets"
    sub.mkdir()
    f1 = encrypt_json({"x": "1"}, sub / "one.enc.json", a.recipient, env)
    f2 = encrypt_json({"y": "2"}, tmp_path / "two.enc.json", b.recipient, env)  # a cannot open it
    (sub / "readme.md").write_text("plain")
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {b.recipient}\n")
    config = load_config(tmp_path / ".sops.yaml")
    ctx = KeyContext(age_identities=[a.identity])
    before = f1.read_bytes()
    dry = update_keys_file(f1, config=config, context=ctx, dry_run=True)
    assert dry.changed and not dry.written and f1.read_bytes() == before
    assert dry.added == [f"age {b.recipient}"] and dry.removed == [f"age {a.recipient}"]
    results = update_keys_many([sub, f2, tmp_path / "missing.json", sub / "readme.md"],
                               config=config, context=ctx)
    by_name = {r.path.name: r for r in results}
    assert by_name["one.enc.json"].written and by_name["one.enc.json"].ok
    assert not by_name["two.enc.json"].changed and by_name["two.enc.json"].ok  # already b only
    assert by_name["missing.json"].skipped == "no such file"
    assert by_name["readme.md"].skipped is not None
    old, new = json.loads(before)["sops"], json.loads(f1.read_text())["sops"]
    for field in ("lastmodified", "mac", "version"):
        assert old[field] == new[field]
    assert [r["recipient"] for r in new["age"]] == [b.recipient]
    failing = update_keys_many([f1], config=config, context=KeyContext(age_identities=[a.identity]))
    assert failing[0].ok and not failing[0].changed  # now up to date; nothing to recover
