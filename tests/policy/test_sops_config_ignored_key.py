"""``sops-config-ignored-key``: misspelt ``.sops.yaml`` keys that sops drops without a word.

Made-up configurations after what real repositories hold (a top-level ``creationRules``, a rule
whose only path pattern is the removed ``filename_regex``); each with its near-identical twin
that must stay quiet (anchor-holding ``keys:`` lists, notes, empty misplaced lists, a dead
selection beside a correct one). ``tests/peer/test_sops_config_keys_peer.py`` shows the sops
binary ignoring these keys, which is what the check claims.
"""

from __future__ import annotations

from sopskit.policy import check_policy
from tests.policy.conftest import AGE_VECTOR_RECIPIENT as AGE
from tests.policy.conftest import RepoFactory, policy

CHECK = "sops-config-ignored-key"


def _messages(root: object) -> list[str]:
    report = check_policy(root, only=[CHECK])  # type: ignore[arg-type]
    return [v.message for v in report.violations if v.check_id == CHECK]


def test_a_camel_case_creation_rules_key_leaves_no_rule(make_repo: RepoFactory) -> None:
    root = make_repo({".sops.yaml": f"# the cluster key\ncreationRules:\n  - path_regex: x\n    age: {AGE}\n"})
    assert policy(root, CHECK) == [(".sops.yaml", 2)]
    assert "no creation rule" in _messages(root)[0]


def test_the_same_key_spelt_right_is_quiet(make_repo: RepoFactory) -> None:
    root = make_repo({".sops.yaml": f"creation_rules:\n  - path_regex: x\n    age: {AGE}\n"})
    assert policy(root, CHECK) == []


def test_anchor_lists_and_notes_are_not_typos(make_repo: RepoFactory) -> None:
    config = (f"keys:\n  - &admin {AGE}\nkey_file: ~/.config/sops/age/keys.txt\ncreation_rules:\n"
              "  - path_regex: x\n    input_type: yaml\n    hc_vault: []\n    age: *admin\n")
    assert policy(make_repo({".sops.yaml": config}), CHECK) == []


def test_a_misspelt_path_regex_makes_a_catch_all(make_repo: RepoFactory) -> None:
    config = f"creation_rules:\n  - path-regex: ^talos/\n    age: {AGE}\n  - path_regex: ^k8s/\n    age: {AGE}\n"
    root = make_repo({".sops.yaml": config})
    assert policy(root, CHECK) == [(".sops.yaml", 2)]
    assert "matches every file" in _messages(root)[0]


def test_filename_regex_counts_only_without_path_regex(make_repo: RepoFactory) -> None:
    alone = f"creation_rules:\n  - path_regex: ^k8s/\n    age: {AGE}\n  - filename_regex: key\\.yaml$\n    age: {AGE}\n"
    assert policy(make_repo({".sops.yaml": alone}), CHECK) == [(".sops.yaml", 4)]


def test_filename_regex_beside_path_regex_is_dead_text(make_repo: RepoFactory) -> None:
    both = f"creation_rules:\n  - path_regex: ^k8s/\n    filename_regex: key\n    age: {AGE}\n"
    assert policy(make_repo({".sops.yaml": both}), CHECK) == []


def test_a_misspelt_selection_encrypts_everything(make_repo: RepoFactory) -> None:
    config = f"creation_rules:\n  - path_regex: x\n    encrypted-regex: ^(data|stringData)$\n    age: {AGE}\n"
    root = make_repo({".sops.yaml": config})
    assert policy(root, CHECK) == [(".sops.yaml", 3)]
    assert "every value" in _messages(root)[0]


def test_a_misspelt_selection_beside_a_correct_one_is_dead_text(make_repo: RepoFactory) -> None:
    config = (f"creation_rules:\n  - path_regex: x\n    encrypted_regex: ^(data|stringData)$\n"
              f"    unencrypted-regex: ^(description|metadata)$\n    age: {AGE}\n")
    assert policy(make_repo({".sops.yaml": config}), CHECK) == []


def test_a_singular_key_group_drops_its_recipients(make_repo: RepoFactory) -> None:
    config = f"creation_rules:\n  - path_regex: x\n    key_group:\n      - age:\n          - {AGE}\n"
    assert policy(make_repo({".sops.yaml": config}), CHECK) == [(".sops.yaml", 3)]


def test_a_misspelt_key_inside_a_key_group(make_repo: RepoFactory) -> None:
    config = (f"creation_rules:\n  - path_regex: x\n    key_groups:\n      - age:\n          - {AGE}\n"
              "        pgpp:\n          - FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n")
    root = make_repo({".sops.yaml": config})
    assert policy(root, CHECK) == [(".sops.yaml", 6)]
    assert "key group 1" in _messages(root)[0]


def test_a_nested_config_is_checked_too_but_not_a_sops_yml(make_repo: RepoFactory) -> None:
    bad = f"creationRules:\n  - age: {AGE}\n"
    root = make_repo({".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", "clusters/b/.sops.yaml": bad,
                      "old/.sops.yml": bad})
    assert policy(root, CHECK) == [("clusters/b/.sops.yaml", 1)]


def test_broken_yaml_is_left_to_the_parse_check(make_repo: RepoFactory) -> None:
    root = make_repo({".sops.yaml": "creationRules: [\n"})
    assert policy(root, CHECK) == []
