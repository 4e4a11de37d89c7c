"""Units under the checks: globs, settings schema, tolerant YAML, gitignore semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.errors import ConfigError
from sopskit.policy.checks.gitignore import is_ignored
from sopskit.policy.checks.terraform import is_secret_name
from sopskit.policy.globs import matches_any
from sopskit.policy.settings import PolicySettings, settings_from_mapping
from sopskit.policy.yamldocs import parse_yaml_documents


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("prod/.env", "**/prod*/**", True),
        ("apps/prod-eu/x/.env", "**/prod*/**", True),
        ("apps/staging/.env", "**/prod*/**", False),
        ("a/b/c.yaml", "a/*.yaml", False),
        ("a/c.yaml", "a/*.yaml", True),
        ("deep/dir/key.agekey", "*.agekey", True),
        ("fixtures/x/y.yaml", "fixtures/**", True),
    ],
)
def test_globs(path: str, pattern: str, expected: bool) -> None:
    assert matches_any(path, [pattern]) is expected


def test_settings_defaults_and_prefix_templates() -> None:
    defaults = settings_from_mapping({})
    assert defaults == PolicySettings()
    assert defaults.secrets_root == "flux/secrets"
    assert defaults.allowed_prefixes("web") == ()  # not configured: the check does not apply
    assert defaults.app_namespaces == () and defaults.flux_global_decryption == "auto"
    custom = settings_from_mapping(
        {
            "externalsecret_prefixes": {"*": ["apps/{namespace}/"], "ops": ["*"]},
            "environments": ["prod"],
            "secrets_root": "/secrets/",
        }
    )
    assert custom.allowed_prefixes("web") == ("apps/web/",)
    assert custom.allowed_prefixes("ops") == ("*",)
    assert custom.secrets_root == "secrets"
    assert [e.name for e in custom.environments or ()] == ["prod"]


@pytest.mark.parametrize(
    "raw",
    [
        {"production_paths": 3},
        {"environments": "prod"},
        {"strict_namespaces": "yes"},
        {"typo": 1},
        {"ignore": ["x"]},
        {"secrets_root": ""},
    ],
)
def test_settings_errors_name_the_key(raw: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw)
    assert "sopskit" in info.value.message


def test_yaml_errors_never_quote_the_source_line() -> None:
    parsed = parse_yaml_documents("a: 1\n---\nsecret: hunter2-value: nope\n")
    assert len(parsed.documents) == 1
    assert parsed.error is not None and parsed.error_line == 3
    assert "hunter2" not in parsed.error


def test_yaml_line_lookup() -> None:
    (doc,) = parse_yaml_documents("a:\n  b:\n    - x\n    - y: 1\n").documents
    assert doc.line_of("a", "b", 1, "y") == 4
    assert doc.line_of("a", "missing") == 1


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db_password", True),
        ("api_token", True),
        ("client_secret", True),
        ("password_length", False),
        ("secret_arn", False),
        ("access_key_id", False),
        ("region", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_gitignore_last_match_wins() -> None:
    assert is_ignored("*.agekey\n", "a/b.agekey")
    assert not is_ignored("*.agekey\n!b.agekey\n", "a/b.agekey")
    assert is_ignored("/keys/*.agekey\n", "keys/x.agekey") and not is_ignored("/keys/*.agekey\n", "x.agekey")


def test_repository_urls_compare_without_scheme_user_port_and_dot_git() -> None:
    from sopskit.policy.fluxgraph import normalise_url

    same = {
        normalise_url(u)
        for u in (
            "https://github.com/Org/Fleet.git",
            "ssh://git@github.com/org/fleet",
            "git@github.com:org/fleet.git",
            "ssh://git@github.com:22/org/fleet/",
        )
    }
    assert same == {"github.com/org/fleet"}
    assert normalise_url("https://github.com/org/other") != "github.com/org/fleet"


def test_repo_recognises_a_sops_file_without_mac(tmp_path: Path) -> None:
    """sops opens a file that has no MAC (its functional-tests/res/no_mac.yaml): so do the checks."""
    from sopskit.policy.repo import load_repo
    from tests.format.test_recognize import NO_MAC

    (tmp_path / "secret.sops.yaml").write_text(NO_MAC["yaml"])
    (tmp_path / "plain.yaml").write_text("sops:\n    enabled: true\nversion: 1\n")
    files = {f.rel: f.is_encrypted for f in load_repo(tmp_path).files}
    assert files == {"secret.sops.yaml": True, "plain.yaml": False}


def test_one_gitignore_matcher_for_gitignore_sourceignore_and_spec_ignore() -> None:
    from sopskit.policy.globs import ignore_rules
    from sopskit.policy.globs import is_ignored as ignored

    rules = ignore_rules(".env/\n*.agekey\n!keep.agekey\n/secrets/*.yaml\n")
    assert ignored(rules, ".env", is_dir=True) and not ignored(rules, ".env")  # a directory rule is no file guard
    assert ignored(rules, "a/b.agekey") and not ignored(rules, "a/keep.agekey")  # the last match decides
    assert ignored(rules, "secrets/x.yaml") and not ignored(rules, "app/secrets/x.yaml")  # anchored
    nested = ignore_rules("*.yaml\n", base="apps")  # a .sourceignore inside apps/
    assert ignored(nested, "apps/a/x.yaml") and not ignored(nested, "x.yaml")
