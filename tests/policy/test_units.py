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


def _git_ignored(rules: list[tuple[str, str, bool, bool]], path: str) -> bool:
    """git's answer for a file: it, or any directory above it, is ignored (git never looks inside
    an ignored directory)."""
    from sopskit.policy.globs import is_ignored as ignored

    parts = path.split("/")
    return any(ignored(rules, "/".join(parts[:d]), is_dir=d < len(parts)) for d in range(1, len(parts) + 1))


def test_flux_ignore_rules_are_go_gits_a_later_line_brings_back_a_directory_below_an_excluded_one() -> None:
    """A GitRepository's ``spec.ignore`` of ``/*`` then ``!/kubernetes/main`` (a real repository's)
    keeps ``kubernetes/main/...`` in Flux's artifact; git, reading the same lines in a .gitignore,
    ignores it (nothing below the excluded ``kubernetes/`` can come back).

    fluxcd/pkg artifact/storage/archive.go ``Storage.Archive`` walks every path and calls the
    ``SourceIgnoreFilter`` with each file's full path; a filtered directory is only left out of
    the tar (``return nil``, never ``filepath.SkipDir``), so its files are asked about one by one.
    sourceignore/gitignore/matcher.go ``matcher.Match`` returns the verdict of the last pattern
    that matches; pattern.go ``globMatch`` matches a pattern with a ``/`` against the path's
    leading components, so ``/kubernetes/main`` matches ``kubernetes/main/apps/a.yaml``.
    """
    from sopskit.policy.globs import go_git_ignored, ignore_rules

    rules = ignore_rules("/*\n!/kubernetes/main\n")
    assert not go_git_ignored(rules, "kubernetes/main/apps/secret.sops.yaml")
    assert go_git_ignored(rules, "kubernetes/flux/secret.sops.yaml")
    assert go_git_ignored(rules, "README.md")
    assert _git_ignored(rules, "kubernetes/main/apps/secret.sops.yaml")
    assert _git_ignored(rules, "README.md")


def test_the_git_reading_agrees_with_git_check_ignore(tmp_path: Path) -> None:
    """The .gitignore reading stays git's: compared with ``git check-ignore`` on the same lines."""
    import subprocess

    from sopskit.policy.globs import ignore_rules

    text = "/*\n!/kubernetes/main\n!/.gitignore\nsecrets/\n!secrets/keep.yaml\n"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(text)
    paths = ["kubernetes/main/apps/a.yaml", "kubernetes/flux/a.yaml", "README.md", "secrets/keep.yaml"]
    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x: 1\n")
    check = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "--no-index", *paths],
                           capture_output=True, text=True)
    by_git = set(check.stdout.split())
    rules = ignore_rules(text)
    assert {p for p in paths if _git_ignored(rules, p)} == by_git
    assert "kubernetes/main/apps/a.yaml" in by_git  # the case where Flux differs


def test_go_git_anchoring_directory_rules_and_double_stars() -> None:
    """Edge cases read in fluxcd/pkg sourceignore/gitignore/pattern.go (go-git v5.16.4's
    plumbing/format/gitignore): ``ParsePattern`` strips ``!`` and one trailing ``/`` (dirOnly) and
    marks a pattern with a ``/`` as a glob; ``simpleNameMatch`` tries the name against EVERY
    component (so it catches files below a matching directory), and dirOnly fails only when the
    matching component is the last one of a file; ``globMatch`` anchors at the ignore file's
    directory (``pattern.Match`` strips the domain), a leading ``**`` skips components up to the
    next segment's match, a trailing ``**`` accepts what the earlier segments matched; the pattern
    matches a prefix of the components."""
    from sopskit.policy.globs import go_git_ignored as excluded
    from sopskit.policy.globs import ignore_rules

    unanchored = ignore_rules("secrets\n")
    assert excluded(unanchored, "secrets") and excluded(unanchored, "apps/secrets/a.yaml")
    anchored = ignore_rules("/secrets\n")
    assert excluded(anchored, "secrets/a.yaml") and not excluded(anchored, "apps/secrets/a.yaml")
    inner = ignore_rules("apps/secrets\n")  # an inner slash anchors too
    assert excluded(inner, "apps/secrets/a.yaml") and not excluded(inner, "x/apps/secrets/a.yaml")

    dir_only = ignore_rules("build/\n/out/\n")
    assert not excluded(dir_only, "build") and excluded(dir_only, "build", is_dir=True)
    assert excluded(dir_only, "a/build/x.yaml")  # the file is below the matching directory
    assert not excluded(dir_only, "out") and excluded(dir_only, "out/x.yaml")

    stars = ignore_rules("**/key.sops.yaml\na/**/b\nc/**\n")
    assert excluded(stars, "key.sops.yaml") and excluded(stars, "x/y/key.sops.yaml")
    assert excluded(stars, "a/b") and excluded(stars, "a/x/y/b/f.yaml") and not excluded(stars, "x/a/b")
    assert not excluded(stars, "a/x/f.yaml")
    assert excluded(stars, "c/d/e.yaml") and not excluded(stars, "x/c/d.yaml")

    # the last match wins, and a negation brings back a file below an excluded directory
    negated = ignore_rules("*.yaml\n!/apps/*.yaml\nsecrets/\n!secrets/keep.yaml\n")
    assert not excluded(negated, "secrets/keep.yaml") and excluded(negated, "secrets/other.txt")
    assert excluded(negated, "x/a.yaml") and not excluded(negated, "apps/a.yaml")
    # a .sourceignore's patterns apply only below its own directory
    nested = ignore_rules("*.yaml\n", base="apps")
    assert excluded(nested, "apps/a/x.yaml") and not excluded(nested, "x.yaml") and not excluded(nested, "apps")


def test_go_git_names_are_matched_as_go_filepath_match_reads_them() -> None:
    """pattern.go calls ``filepath.Match`` per component: ``[^...]`` negates (``[!...]`` is a
    class holding ``!``), ``\\`` escapes, and a malformed pattern (``ErrBadPattern``) matches
    nothing."""
    from sopskit.policy.globs import go_git_ignored as excluded
    from sopskit.policy.globs import ignore_rules

    def one(pattern: str, path: str) -> bool:
        return excluded(ignore_rules(pattern + "\n"), path)

    assert one("[^a]b.yaml", "cb.yaml") and not one("[^a]b.yaml", "ab.yaml")
    assert one("[!a]b.yaml", "ab.yaml") and not one("[!a]b.yaml", "cb.yaml")
    assert one("key-[0-9].yaml", "key-7.yaml") and not one("key-[0-9].yaml", "key-x.yaml")
    assert one("a\\*.yaml", "a*.yaml") and not one("a\\*.yaml", "ab.yaml")
    assert not one("[]a].yaml", "a.yaml") and not one("[b-a].yaml", "a.yaml")
    assert one("?.yaml", "a.yaml") and not one("?.yaml", "ab.yaml")
