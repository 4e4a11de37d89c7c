"""Go ``regexp`` semantics for user patterns (sops: ``regexp.Match`` in sops.go
``shouldBeEncrypted``, ``regexp.Compile`` in config/config.go ``parseCreationRuleForFile``).

The differential check against the real sops binary is tests/peer/test_regex_peer.py; these
pin the semantics that Python's ``re`` gets wrong, so a fallback to ``re`` fails here.
"""

from __future__ import annotations

import time

import pytest

from sopskit.errors import FormatError
from sopskit.format.goregex import compile_go_regex, go_regex_or_never
from sopskit.format.selection import SelectionRules


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    # a flag group in the middle of the pattern: Python's re refuses it, Go accepts it
    ("((?i)(pass|secret|key))", "DB_PASSWORD", True),
    ("((?i)(pass|secret|key))", "username", False),
    ("^a(?i)b$", "aB", True),
    ("^a(?i)b$", "AB", False),
    # $ is the end of text, never "before a final newline" (Python's re) without (?m)
    ("^pw$", "pw\n", False),
    ("(?m)^pw$", "x\npw\ny", True),
    (r"pw\z", "pw", True),
    (r"\Apw", "xpw", False),
    # classes: ASCII \d and \w (Python's are Unicode), POSIX and Unicode classes
    (r"^\d+$", "١٢٣", False),
    (r"^\w+$", "héllo", False),
    (r"^[[:alpha:]]+$", "abcXYZ", True),
    (r"^\pL+$", "héllo", True),
    (r"^\p{Greek}+$", "λόγος", True),
    # Unicode case folding: (?i)k also matches the Kelvin sign, as in Go
    ("(?i)^k$", "\u212a", True),
    (r"\Qa.b\E", "a.b", True),
    (r"\Qa.b\E", "axb", False),
    ("(?U)a+", "a", True),
    ("(?<name>x)y", "xy", True),
    ("", "anything", True),
])
def test_semantics(pattern: str, text: str, expected: bool) -> None:
    assert compile_go_regex(pattern).search(text) is expected


@pytest.mark.parametrize("pattern", [
    r"(a)\1",  # backreference
    r"a(?=b)",  # look-ahead
    r"a\Z",  # Python's \Z; Go has only \z
    r"\C",  # RE2 C++ accepts it, Go does not
    "a{1001}",  # Go's repeat limit
    "((?i)pass",
    "(?i",
])
def test_go_refuses(pattern: str) -> None:
    with pytest.raises(FormatError, match="invalid encrypted_regex"):
        compile_go_regex(pattern, what="encrypted_regex")


def test_escaped_backslash_before_c_is_fine() -> None:
    assert compile_go_regex(r"\\C").search("\\C")
    assert compile_go_regex(r"\Q\C\E").search("\\C")


def test_lone_surrogate_is_matched_as_replacement_character() -> None:
    assert compile_go_regex("^.$").search("\ud800")
    assert compile_go_regex("^\ufffd$").search("\udfff")


def test_catastrophic_pattern_is_linear() -> None:
    regex = compile_go_regex("^(a+)+$")
    start = time.monotonic()
    assert not regex.search("a" * 200_000 + "b")
    assert time.monotonic() - start < 5  # a backtracking engine would never finish


def test_invalid_pattern_from_metadata_matches_nothing() -> None:
    never = go_regex_or_never("(")
    assert never.error and "missing" in never.error
    assert not never.search("(")
    # metadata (strict=False): sops's ``matched, _ := regexp.Match`` treats it as no match
    rules = SelectionRules.from_options({"encrypted_regex": "("}, strict=False)
    assert not rules.should_encrypt(["(", "x"], [], False)
    rules = SelectionRules.from_options({"unencrypted_regex": "("}, strict=False)
    assert rules.should_encrypt(["("], [], False)
    with pytest.raises(FormatError, match="invalid encrypted_regex"):
        SelectionRules.from_options({"encrypted_regex": "("})
