"""Rule files: gitleaks TOML import, RE2 translation, allowlists, inline allow comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sopskit.errors import ConfigError
from sopskit.scan import ScanOptions, parse_rules, scan
from sopskit.scan.engine import Matcher
from sopskit.scan.rules import load_default_rules, translate_go_regex
from tests.conftest import require_module

GITLEAKS = r"""
title = "team rules"

[[rules]]
id = "acme-token"
description = "ACME internal token"
regex = '''(?i)acme[_-]?token\s*=\s*(acme_[a-z0-9]{24})'''
secretGroup = 1
keywords = ["acme"]

[rules.allowlist]
regexes = ['''acme_0{24}''']

[[rules]]
id = "mid-flag"
regex = '''tok_(?i)[a-f]{8}\z'''

[allowlist]
paths = ['''fixtures/''']
"""


@pytest.mark.parametrize(("go", "expected"), [
    (r"abc(?i)def|x", r"abc(?i:def)|(?i:x)"),
    (r"(a(?i)b)c", r"(a(?i:b))c"),
    (r"x\z", r"x\Z"),
    (r"[[:alnum:]]+", r"[A-Za-z0-9]+"),
    (r"(?i)start", r"(?i)start"),
])
def test_translate_go_regex(go: str, expected: str) -> None:
    assert translate_go_regex(go) == expected
    re.compile(expected)


def test_translated_mid_flag_keeps_go_semantics() -> None:
    pattern = re.compile(translate_go_regex(r"abc(?i)def|x"))
    assert pattern.fullmatch("abcDEF") and pattern.fullmatch("X") and not pattern.fullmatch("ABCdef")


def test_gitleaks_file_rules_and_allowlists(tmp_path: Path) -> None:
    rules = tmp_path / ".gitleaks.toml"
    rules.write_text(GITLEAKS)
    ruleset = parse_rules(rules.read_text())
    assert [r.id for r in ruleset.rules] == ["acme-token", "mid-flag"]
    (tmp_path / "fixtures").mkdir()
    body = "ACME_TOKEN = acme_k3j5h6g7f8d9s0a1q2w3e4r5\nacme_token=acme_000000000000000000000000\n"
    (tmp_path / "app.cfg").write_text(body + "tok_FADEBCab")
    (tmp_path / "fixtures" / "app.cfg").write_text(body)
    report = scan(ScanOptions(paths=[tmp_path], ruleset=ruleset))
    assert sorted((f.rule_id, f.path, f.line) for f in report.findings) == [
        ("acme-token", "app.cfg", 1), ("mid-flag", "app.cfg", 3)]


def test_extend_use_default_adds_builtin_rules() -> None:
    ruleset = parse_rules(GITLEAKS + "\n[extend]\nuseDefault = true\n")
    ids = [r.id for r in ruleset.rules]
    assert ids[:2] == ["acme-token", "mid-flag"] and "github-token" in ids


@pytest.mark.parametrize("bad", ["[[rules]]\nid='x'\nregex='''(unclosed'''", "not toml [", "title='empty'"])
def test_bad_rule_files_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_rules(bad)


def test_every_default_rule_compiles_in_hyperscan() -> None:
    require_module("hyperscan")
    matcher = Matcher(load_default_rules(), engine="hyperscan")
    assert matcher.engine == "hyperscan" and not matcher._always


@pytest.mark.parametrize("marker", ["# sopskit:allow", "// gitleaks:allow", "# pragma: allowlist secret"])
def test_inline_allow_comment(tmp_path: Path, marker: str) -> None:
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    (tmp_path / "a.py").write_text(f'T = "{token}"  {marker}\nU = "{token[:-1]}Q"\n')
    report = scan(ScanOptions(paths=[tmp_path]))
    assert [(f.rule_id, f.line) for f in report.findings] == [("github-token", 2)]


@pytest.mark.parametrize(
    ("value", "is_code"),
    [
        (b"self._read(namespace", True),
        (b"_read_passphrase(location", True),
        (b"connect(kubeconfig=kubeconfig", True),
        (b"flux/secrets/demo/db-credentials.yaml", True),
        (b"os.environ.get", True),
        (b"Hunter(2)x9Qz", False),
        (b"hunter(2)x9Qz", False),
        (b"Zq8#kP2(vL0s", False),
        (b"c0rrect/h0rse/b4ttery", False),
    ],
)
def test_code_and_paths_are_not_secrets(value: bytes, is_code: bool) -> None:
    from sopskit.scan.filters import is_code_reference

    assert is_code_reference(value) is is_code
