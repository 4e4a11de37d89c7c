"""RE2 spellings real .sops.yaml files use (a mid-pattern ``(?i)``) compile and match as in Go."""

from __future__ import annotations

from pathlib import Path

from sopskit.config.sops_yaml import parse_config
from sopskit.format.selection import SelectionRules

# made-up, in the shape public Flux repositories use for their Secret manifests
GO_REGEX = "((?i)(pass|secret($|[^N])|key|token|^data$|^stringData))"


def test_mid_pattern_case_flag_selects_like_go() -> None:
    rules = SelectionRules("encrypted_regex", GO_REGEX)
    chosen = {k for k in ("Password", "API_KEY", "data", "stringData", "secretName", "kind", "metadata")
              if rules.should_encrypt([k], [], False)}
    # (?i) reaches to the end of its group: PASSWORD and API_KEY match; [^N] under (?i) excludes n too
    assert chosen == {"Password", "API_KEY", "data", "stringData"}


def test_config_with_go_flags_in_a_rule_is_read(tmp_path: Path) -> None:
    text = f"""creation_rules:
  - path_regex: (?i)clusters/.*\\.sops\\.ya?ml
    encrypted_regex: "{GO_REGEX}"
    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq6ad6ks
  - path_regex: apps/(?i)secret\\.yaml
    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq6ad6ks
"""
    config = parse_config(text, tmp_path / ".sops.yaml")
    assert len(config.creation_rules) == 2
    assert config.rule_for("apps/SECRET.yaml") is config.creation_rules[1]
    assert config.rule_for("apps/x.yaml") is None
