"""Import PyYAML without paying for the regular expressions only its pure-Python path uses.

``import yaml`` compiles a dozen module-level patterns (the reader's printable-character class
alone takes ~4 ms), about a tenth of a cold ``sopskit decrypt``. sopskit drives libyaml's C
parser and resolves scalars itself (``_yaml_resolve``), and ``.sops.yaml`` is loaded with
``CSafeLoader``, so most of those patterns are never used. While PyYAML is imported, patterns
that PyYAML's own modules compile are deferred: each is compiled the first time it is used.
Every other caller of ``re.compile`` (another thread, say) gets a real compiled pattern.
"""

from __future__ import annotations

import _thread
import re
import sys
from types import ModuleType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_import_lock = _thread.allocate_lock()  # not threading: ~1 ms of imports at start-up
_real_compile = re.compile


class DeferredPattern:
    """A stand-in for ``re.compile(pattern, flags)`` that compiles on first use."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: Any, flags: int) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _real_compile(self._source, self._flags)
        return getattr(compiled, name)


def _compile_deferred_for_pyyaml(pattern: Any, flags: int = 0) -> Any:
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller == "yaml" or caller.startswith("yaml."):
        return DeferredPattern(pattern, flags)
    return _real_compile(pattern, flags)


def pyyaml() -> ModuleType:
    """The ``yaml`` module (PyYAML), imported with its module-level patterns deferred."""
    module = sys.modules.get("yaml")
    # another thread (the many-file pool) may be importing it right now: a module still being
    # initialised is not returned half-made; ``import yaml`` below waits for it
    if module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False):
        return module
    with _import_lock:
        re.compile = _compile_deferred_for_pyyaml
        try:
            import yaml
        finally:
            re.compile = _real_compile
    return yaml
