"""`.sops.yaml` parsing and rule matching, including the functional-test config of sops."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.config import find_config, load_config, parse_config
from sopskit.errors import ConfigError
from tests.conftest import FUNCTIONAL, require


def cfg(text: str, where: Path = Path("/repo/.sops.yaml")):  # type: ignore[no-untyped-def]
    return parse_config(text, where)


def test_first_matching_rule_wins_and_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^flux/secrets/prod/\n    age: age1prod\n"
        "  - path_regex: \\.yaml$\n    age: age1any\n"
    )
    c = load_config(tmp_path / ".sops.yaml")
    rule = c.rule_for(tmp_path / "flux/secrets/prod/db.yaml")
    assert rule is not None and rule.recipients("age") == ["age1prod"]
    rule = c.rule_for(tmp_path / "flux/secrets/dev/db.yaml")
    assert rule is not None and rule.recipients("age") == ["age1any"]
    assert c.rule_for(tmp_path / "notes.txt") is None


def test_keys_as_comma_strings_and_lists_and_group_order() -> None:
    c = cfg(
        "creation_rules:\n"
        "  - age: ' age1a , age1b,'\n"
        "    pgp: [FP1, 'FP2,FP3']\n"
        "    kms: arn:aws:kms:eu-west-1:1:key/x+arn:aws:iam::1:role/r\n"
        "    aws_profile: prod\n"
        "    hc_vault_transit_uri: https://v:8200/v1/transit/keys/k\n"
    )
    group = c.creation_rules[0].key_groups[0]
    assert [k.key_type for k in group] == ["age", "age", "pgp", "pgp", "pgp", "kms", "hc_vault"]
    assert group[5].spec == {"arn": "arn:aws:kms:eu-west-1:1:key/x", "role": "arn:aws:iam::1:role/r",
                             "aws_profile": "prod"}


def test_key_groups_with_merge_and_dedup() -> None:
    c = cfg(
        "creation_rules:\n"
        "  - shamir_threshold: 2\n"
        "    key_groups:\n"
        "      - age: [age1a, age1a]\n"
        "        merge:\n"
        "          - pgp: [FP1]\n"
        "      - kms: [{arn: 'arn:x', context: {a: b}}]\n"
        "        azure_keyvault: [{vaultUrl: 'https://v.vault.azure.net', key: k, version: ''}]\n"
    )
    rule = c.creation_rules[0]
    assert rule.shamir_threshold == 2
    assert [(k.key_type, k.identity()) for k in rule.key_groups[0]] == [("pgp", "FP1"), ("age", "age1a")]
    assert [k.key_type for k in rule.key_groups[1]] == ["kms", "azure_kv"]


def test_selection_options_and_conflicts() -> None:
    c = cfg("creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age: age1a\n")
    sel = c.creation_rules[0].selection
    assert sel is not None and sel.option == "encrypted_regex"
    with pytest.raises(ConfigError) as info:
        cfg("creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: b\n")
    assert "creation_rules[0]" in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["creation_rules: [", "- a\n- b\n", "creation_rules:\n  - path_regex: '('\n",
     "creation_rules:\n  - shamir_threshold: many\n"],
)
def test_bad_configs_give_clear_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(text)
    assert "/repo/.sops.yaml" in str(info.value)


def test_sopskit_section_and_store_settings() -> None:
    c = cfg("stores:\n  yaml: {indent: 2}\n  json: {indent: 4}\nsopskit:\n  environments: [dev, prod]\n")
    assert (c.yaml_indent, c.json_indent) == (2, 4)
    assert c.sopskit_settings == {"environments": ["dev", "prod"]}


def test_discovery_walks_up_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules: []\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / ".sops.yml").write_text("ignored: true\n")
    assert find_config(deep) == tmp_path / ".sops.yaml"


def test_sops_functional_test_config() -> None:
    path = require(FUNCTIONAL / "functional-tests" / ".sops.yaml")
    c = load_config(path)
    base = path.parent
    shamir = c.rule_for(base / "test_roundtrip_keygroups.yaml")
    assert shamir is not None and len(shamir.key_groups) == 2
    assert c.rule_for(base / "test_zero_keygroups.yaml").key_groups == []  # type: ignore[union-attr]
    assert c.rule_for(base / "test_empty_keygroup.yaml").key_groups == [[]]  # type: ignore[union-attr]
    default = c.rule_for(base / "anything.yaml")
    assert default is not None and default.recipients("pgp") == ["FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"]
