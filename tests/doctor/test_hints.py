"""Every hint names a command that exists, with flags that command accepts; a mistyped command
gets "unknown command" and the closest one, while ``sopskit FILE`` keeps sops's meaning."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.cli.main import COMMANDS, build_parser

SRC = Path(__file__).resolve().parents[2] / "src" / "sopskit"
_HINT = re.compile(r"(?<!`)`sopskit ([^`]*)`(?!`)")  # single backticks: hints, not rST
_PLACEHOLDERS = {"FILE", "COMMAND", "[flags]", "-d", "--help", "-e", "-r"}


def _hints() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in _HINT.finditer(text):
            found.append((f"{path.relative_to(SRC)}:{text.count(chr(10), 0, match.start()) + 1}", match[1]))
    return found


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """Descend through sub-commands named by ``words``; return the deepest parser and the rest."""
    while words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or words[0] not in subs[0].choices:
            break
        parser, words = subs[0].choices[words[0]], words[1:]
    return parser, words


def test_hints_were_found() -> None:
    assert len(_hints()) > 30


@pytest.mark.parametrize(("where", "hint"), _hints())
def test_hint_names_an_existing_command_and_flags(where: str, hint: str) -> None:
    words = hint.replace("|", " | ").replace(">", " > ").split()
    words = words[: words.index("|")] if "|" in words else words
    words = words[: words.index(">")] if ">" in words else words
    if not words or words[0] in _PLACEHOLDERS or words[0].startswith(("[", "-", "{", "./")):
        return  # the legacy form (`sopskit FILE`, `sopskit -d FILE`, a path) or a placeholder
    assert words[0] in COMMANDS, f"{where}: `sopskit {hint}` names no command"
    parser, rest = _subparser(build_parser(words[0]), words)
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert not nested, f"{where}: `sopskit {hint}` needs a sub-command ({', '.join(nested[0].choices)})"
    flags = {flag for action in parser._actions for flag in action.option_strings}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in flags, f"{where}: `sopskit {hint}`: {parser.prog} has no {word}"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sopskit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)


def test_unknown_command_suggests_the_closest(tmp_path: Path) -> None:
    done = _run("doctr", cwd=tmp_path)
    assert done.returncode != 0
    assert "unknown command 'doctr'" in done.stderr and "`sopskit doctor`" in done.stderr
    assert "unknown command" in _run("clustr", "verify", cwd=tmp_path).stderr


def test_existing_file_and_paths_keep_the_legacy_meaning(tmp_path: Path) -> None:
    (tmp_path / "doctr").write_text("plain: text\n")
    existing = _run("doctr", cwd=tmp_path)  # a file of that name: sops's edit, which refuses plaintext
    assert "unknown command" not in existing.stderr
    assert "unknown command" not in _run("new.yaml", cwd=tmp_path).stderr
    assert "unknown command" not in _run("-d", "missing", cwd=tmp_path).stderr


def test_doctor_is_a_command_not_a_file_to_edit(tmp_path: Path) -> None:
    done = _run("doctor", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout


def test_secret_new_hints(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert _run("repo", "init", "--env", "prod", cwd=tmp_path).returncode == 0
    empty_rule = _run("secret", "new", "prod", "db", cwd=tmp_path)  # repo init leaves the rule keyless
    assert empty_rule.returncode != 0
    assert "empty key group" not in empty_rule.stderr and "lists no key" in empty_rule.stderr
    assert "sopskit cluster init --path-regex '^flux/secrets/prod/'" in empty_rule.stderr
    (tmp_path / "flux/secrets/prod/db.yaml").write_text("x: 1\n")
    existing = _run("secret", "new", "prod", "db", cwd=tmp_path)
    assert "`sopskit edit --from-cluster flux/secrets/prod/db.yaml`" in existing.stderr
