"""Run ``sops-config-ignored-key`` over every version of every ``.sops.yaml`` in Git histories.

Run by hand (not part of the test suite); each argument is a Git directory (the bare mirrors the
``fetch`` tool writes)::

    .venv/bin/python bench/sops_config_keys.py /work/.mirror/*/repo

Prints one line per finding (mirror, commit, path, line, message) and, last, how many distinct
``.sops.yaml`` files were read. No file content is printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sopskit.policy.checks.sopsconfigkeys import ignored_keys
from sopskit.policy.sopsconfig import SopsConfigView
from sopskit.policy.yamldocs import parse_yaml_documents


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, check=False).stdout.decode(
        "utf-8", "replace")


def main(git_dirs: list[str]) -> None:
    seen: set[str] = set()
    for git_dir in git_dirs:
        for commit in _git(git_dir, "log", "--all", "--format=%H", "--", "*.sops.yaml", ".sops.yaml").split():
            for path in _git(git_dir, "ls-tree", "-r", "--name-only", commit).splitlines():
                if path.rsplit("/", 1)[-1] != ".sops.yaml":
                    continue
                blob = _git(git_dir, "rev-parse", f"{commit}:{path}").strip()
                if blob in seen:
                    continue
                seen.add(blob)
                text = _git(git_dir, "cat-file", "-p", blob)
                parse = parse_yaml_documents(text)
                view = SopsConfigView(path=Path(path), text=text, parse=parse, rules=(), settings={})
                for line, message in ignored_keys(view):
                    print(Path(git_dir).parent.name, commit[:8], path, line, message)
    print(f"{len(seen)} distinct .sops.yaml files read")


if __name__ == "__main__":
    main(sys.argv[1:])
