"""`.sops.yaml` patterns have Go RE2 semantics (sops: config/config.go ``parseCreationRuleForFile``
compiles ``path_regex`` with ``regexp.Compile`` and calls ``MatchString``, an unanchored search)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sopskit.config import parse_config
from sopskit.errors import ConfigError

WHERE = Path("/repo/.sops.yaml")


def _rules(*rules: str) -> str:
    return "creation_rules:\n" + "".join(f"  - {rule}\n    age: age1a\n" for rule in rules)


def test_k8s_at_home_style_config_loads_and_selects() -> None:
    rule_text = "path_regex: '(?i)\\.SOPS\\.ya?ml\\z'\n    encrypted_regex: '((?i)(pass|secret|key))'"
    config = parse_config(_rules(rule_text), WHERE)
    rule = config.rule_for("/repo/cluster/app/db.sops.yaml")
    assert rule is not None and rule.selection is not None
    assert rule.selection.should_encrypt(["stringData", "DB_PASSWORD"], [], False)
    assert not rule.selection.should_encrypt(["stringData", "username"], [], False)
    assert config.rule_for("/repo/cluster/app/db.sops.yaml.bak") is None  # \z: the very end


def test_path_regex_is_an_unanchored_search_on_the_relative_path() -> None:
    config = parse_config(_rules("path_regex: 'secrets/[[:alpha:]]+'", "path_regex: ''"), WHERE)
    assert config.creation_rules[0].matches("apps/secrets/db.yaml")
    assert not config.creation_rules[0].matches("apps/secrets/123.yaml")
    assert config.creation_rules[1].matches("anything")  # an empty path_regex matches all, as in sops


@pytest.mark.parametrize(("rule", "what"), [
    ("path_regex: '(a)\\1'", "creation_rules[0].path_regex `(a)\\1`"),
    ("path_regex: '.*'\n    encrypted_regex: 'a(?=b)'", "creation_rules[0]: invalid encrypted_regex `a(?=b)`"),
    ("unencrypted_comment_regex: '(?i'", "creation_rules[0]: invalid unencrypted_comment_regex `(?i`"),
])
def test_invalid_patterns_are_one_config_error_naming_the_rule(rule: str, what: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_rules(rule), WHERE)
    message = str(caught.value)
    assert what in message and "\n" not in message and caught.value.exit_code == 1


def test_catastrophic_path_regex_is_fast() -> None:
    config = parse_config(_rules("path_regex: '^(a+)+$'"), WHERE)
    start = time.monotonic()
    assert config.rule_for("/repo/" + "a" * 50_000 + "b") is None
    assert time.monotonic() - start < 5
