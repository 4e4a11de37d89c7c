"""Path globs with ``**`` for settings (production paths, excludes).

``fnmatch`` lets ``*`` cross ``/`` and has no ``**``, and ``glob.translate`` needs Python 3.13,
so this small translation gives the gitignore-like meaning users expect:
``*`` and ``?`` stay inside one path segment, ``**/`` matches zero or more directories, a
trailing ``/**`` matches everything below, and a pattern without ``/`` matches a name at any
depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=256)
def glob_to_regex(pattern: str, *, anywhere: bool | None = None) -> re.Pattern[str]:
    """Compile one glob to a regex matched against a whole POSIX relative path.

    ``anywhere`` (default: the pattern has no inner ``/``) lets the pattern match at any depth.
    """
    glob = pattern.strip().lstrip("/")
    if anywhere is None:
        anywhere = "/" not in glob.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    body = "".join(out)
    if glob.endswith("/"):
        body += ".*"
    prefix = "(?:.*/)?" if anywhere else ""
    return re.compile(f"{prefix}{body}(?:/.*)?" if anywhere else body)


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    """True if the relative POSIX ``path`` matches one of the globs."""
    return any(glob_to_regex(p).fullmatch(path) for p in patterns)
