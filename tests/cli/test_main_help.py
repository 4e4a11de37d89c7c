"""The top-level help lists every command without importing the command modules."""

from __future__ import annotations

import argparse
import subprocess
import sys

from sopskit.cli.main import COMMANDS, SUMMARIES, build_parser


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action.help for action in sub._choices_actions}


def test_every_summary_is_the_help_its_module_registers() -> None:
    registered = _summaries(build_parser())  # imports every command module
    assert set(registered) == set(COMMANDS)
    assert {name: SUMMARIES.get(name) for name in COMMANDS} == registered


def test_top_level_help_lists_the_same_commands_as_the_full_parser() -> None:
    assert _summaries(build_parser(summaries_only=True)) == _summaries(build_parser())


def test_top_level_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from sopskit.cli.main import run\n"
        "try:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        # legacy is the dispatcher of sops's legacy syntax, not a command
        "loaded = [m for m in sys.modules if m.startswith('sopskit.cli.commands.') and not m.endswith('.legacy')]\n"
        "sys.stderr.write('LOADED:' + ','.join(sorted(loaded)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "encrypt a plaintext file" in proc.stdout
    assert proc.stderr.endswith("LOADED:"), proc.stderr
