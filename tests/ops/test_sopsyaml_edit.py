"""Comment-preserving .sops.yaml edits: one rule changes, everything else stays byte-identical."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sopskit.config import parse_config
from sopskit.errors import ConfigError
from sopskit.keys.age import generate_identity
from sopskit.ops.sopsyaml_edit import (
    FLUX_ENCRYPTED_REGEX,
    add_age_recipient,
    age_recipients,
    ensure_rule,
    remove_age_recipient,
)

A = generate_identity()[1]
B = generate_identity()[1]
C = generate_identity()[1]

TEAM_CONFIG = f"""\
# Team rules: keep this comment
creation_rules:
  # production, owned by ops
  - path_regex: ^flux/secrets/prod/
    encrypted_regex: ^(data|stringData)$
    age: {A} # the prod cluster
  - path_regex: ^dev/
    pgp: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'   # dev team
  # everything else
  - age: {C}
stores:
  yaml:
    indent: 2
"""


def _rules(text: str) -> list[tuple[str | None, list[str]]]:
    config = parse_config(text, Path("/repo/.sops.yaml"))
    return [(r.path_regex, r.recipients("age")) for r in config.creation_rules]


def test_add_to_existing_rule_keeps_comments_and_other_rules() -> None:
    out = add_age_recipient(TEAM_CONFIG, "^flux/secrets/prod/", B)
    assert _rules(out) == [("^flux/secrets/prod/", [A, B]), ("^dev/", []), (None, [C])]
    for line in TEAM_CONFIG.splitlines():
        if A not in line:  # only the edited line may change
            assert line in out.splitlines()
    assert "# the prod cluster" in out


def test_add_is_idempotent() -> None:
    once = add_age_recipient(TEAM_CONFIG, "^flux/secrets/prod/", B)
    assert add_age_recipient(once, "^flux/secrets/prod/", B) == once
    assert add_age_recipient(TEAM_CONFIG, "^flux/secrets/prod/", A) == TEAM_CONFIG


def test_missing_rule_is_created_before_the_catch_all() -> None:
    out = add_age_recipient(TEAM_CONFIG, "^flux/secrets/stage/", B)
    rules = _rules(out)
    assert rules[2] == ("^flux/secrets/stage/", [B])
    assert rules[-1] == (None, [C])
    config = parse_config(out, Path("/repo/.sops.yaml"))
    rule = config.rule_for("/repo/flux/secrets/stage/db.yaml")
    assert rule is not None and rule.path_regex == "^flux/secrets/stage/"
    assert rule.selection is not None
    assert config.raw["creation_rules"][2]["encrypted_regex"] == FLUX_ENCRYPTED_REGEX
    assert "# everything else" in out and "indent: 2" in out


def test_missing_file_is_created() -> None:
    out = add_age_recipient(None, "^flux/secrets/prod/", A)
    assert _rules(out) == [("^flux/secrets/prod/", [A])]
    assert parse_config(out, Path("/r/.sops.yaml")).raw["creation_rules"][0]["encrypted_regex"] == (
        FLUX_ENCRYPTED_REGEX)


def test_remove_only_touches_the_rule() -> None:
    both = add_age_recipient(TEAM_CONFIG, "^flux/secrets/prod/", B)
    out = remove_age_recipient(both, "^flux/secrets/prod/", A)
    assert _rules(out) == [("^flux/secrets/prod/", [B]), ("^dev/", []), (None, [C])]
    assert "# production, owned by ops" in out and "# dev team" in out


def test_remove_refuses_to_leave_a_rule_without_keys() -> None:
    with pytest.raises(ConfigError, match="without any key"):
        remove_age_recipient(TEAM_CONFIG, "^flux/secrets/prod/", A)


def test_remove_from_missing_rule_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no creation rule"):
        remove_age_recipient(TEAM_CONFIG, "^nowhere/", A)


def test_yaml_list_form_is_kept() -> None:
    text = f"creation_rules:\n  - path_regex: ^x/\n    age:\n      - {A}  # first\n"
    out = add_age_recipient(text, "^x/", B)
    assert f"- {A}  # first" in out and f"- {B}" in out
    assert age_recipients(out, "^x/") == [A, B]


def test_key_groups_form() -> None:
    text = f"creation_rules:\n  - path_regex: ^x/\n    key_groups:\n      - age:\n          - {A}\n"
    out = add_age_recipient(text, "^x/", B)
    assert _rules(out) == [("^x/", [A, B])]
    assert _rules(remove_age_recipient(out, "^x/", A)) == [("^x/", [B])]


def test_ensure_rule_without_recipient_then_add() -> None:
    skeleton = ensure_rule(None, "^flux/secrets/dev/", [])
    assert age_recipients(skeleton, "^flux/secrets/dev/") == []
    assert ensure_rule(skeleton, "^flux/secrets/dev/", [A]) == skeleton  # existing rule untouched
    out = add_age_recipient(skeleton, "^flux/secrets/dev/", A)
    assert _rules(out) == [("^flux/secrets/dev/", [A])]


def test_invalid_yaml_is_refused() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        add_age_recipient("creation_rules: [\n", "^x/", A)


def test_new_rule_goes_before_a_rule_that_would_shadow_it() -> None:
    text = (
        "creation_rules:\n"
        "  - path_regex: kubernetes/.*\\.sops\\.yaml$\n    age: age1a\n"
        "  - path_regex: flux/.*\n    age: age1b\n"
        "  - path_regex: ^other/\n    age: age1c\n"
    )
    out = ensure_rule(text, "^flux/secrets/prod/", ["age1p"])
    rules = [r["path_regex"] for r in yaml.safe_load(out)["creation_rules"]]
    assert rules == ["kubernetes/.*\\.sops\\.yaml$", "^flux/secrets/prod/", "flux/.*", "^other/"]


def test_a_rule_that_cannot_be_evaluated_is_named_and_nothing_is_guessed() -> None:
    text = "creation_rules:\n  - path_regex: '(flux'\n    age: age1a\n"
    with pytest.raises(ConfigError, match=r"rule #1 .*path_regex"):
        ensure_rule(text, "^flux/secrets/prod/", ["age1p"])


def test_leading_marker_is_kept() -> None:
    out = ensure_rule("---\ncreation_rules: []\n", "^flux/secrets/prod/", ["age1p"])
    assert out.startswith("---\ncreation_rules:\n")
