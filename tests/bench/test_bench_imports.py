"""The hand-run ``bench/`` scripts still import what they name from sopskit.

The benches are not part of the suite (they need mirrors, peers and minutes), so a refactor that
moves a module breaks them silently: ``bench/opens.py`` imported ``sopskit.format.document``
for weeks after it became ``format.treecrypt``. Most of their sopskit imports are inside
functions (lazy, so ``--help`` stays fast), which an import of the script would not reach: this
test reads every ``from sopskit... import ...`` in their source and resolves each name.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _sopskit_imports() -> list[tuple[str, str, str, int]]:
    found = []
    for script in sorted(BENCH.glob("*.py")):
        tree = ast.parse(script.read_text(), filename=str(script))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sopskit":
                for alias in node.names:
                    found.append((script.name, node.module, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "sopskit":
                        found.append((script.name, alias.name, "", node.lineno))
    return found


IMPORTS = _sopskit_imports()


def test_the_benches_import_sopskit_at_all() -> None:
    assert len({script for script, *_ in IMPORTS}) >= 5


@pytest.mark.parametrize(("script", "module", "name", "line"), IMPORTS,
                         ids=[f"{s}:{ln}:{m}.{n}" for s, m, n, ln in IMPORTS])
def test_bench_import_resolves(script: str, module: str, name: str, line: int) -> None:
    imported = importlib.import_module(module)
    if name and name != "*" and not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")  # a submodule imported by name is fine too
