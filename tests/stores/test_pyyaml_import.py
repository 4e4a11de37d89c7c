"""PyYAML imported with its module-level patterns deferred must behave exactly like PyYAML."""

from __future__ import annotations

import re
import subprocess
import sys

SAMPLE = (
    "flag: yes\nother: off\ncount: 0x1f\nratio: 1.5e3\nwhen: 2001-12-14t21:59:43.10-05:00\n"
    "nothing: ~\nmerge: {<<: {a: 1}}\nlist: [1, '2', 3.0]\n"
)


def _in_fresh_interpreter(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_deferred_import_loads_like_a_plain_import() -> None:
    # one fresh interpreter imports PyYAML the usual way, the other through pyyaml()
    plain = _in_fresh_interpreter(f"import yaml; print(repr(yaml.load({SAMPLE!r}, Loader=yaml.CSafeLoader)))")
    deferred = _in_fresh_interpreter(
        "from sopskit.stores._pyyaml import pyyaml\n"
        f"yaml = pyyaml(); print(repr(yaml.load({SAMPLE!r}, Loader=yaml.CSafeLoader)))\n"
        f"print(repr(yaml.load({SAMPLE!r}, Loader=yaml.SafeLoader)))"
    ).splitlines()
    assert deferred == [plain.strip(), plain.strip()]


def test_only_pyyaml_patterns_are_deferred_and_re_compile_is_restored() -> None:
    out = _in_fresh_interpreter(
        "import re\n"
        "from sopskit.stores._pyyaml import DeferredPattern, pyyaml\n"
        "yaml = pyyaml()\n"
        "print(re.compile is re.__dict__['compile'], type(re.compile('x')).__name__)\n"
        "print(isinstance(yaml.reader.Reader.NON_PRINTABLE, DeferredPattern))\n"
        "print(yaml.reader.Reader.NON_PRINTABLE.search('ok\\x01') is not None)\n"
    ).split()
    assert out == ["True", "Pattern", "True", "True"]
    assert re.compile("a").match("a")


def test_pyyaml_returns_the_module_already_imported() -> None:
    import yaml

    from sopskit.stores._pyyaml import pyyaml

    assert pyyaml() is yaml
