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
from fnmatch import fnmatchcase
from functools import lru_cache

#: one gitignore-format line: (base directory of the file it came from, pattern, negated,
#: directory-only)
IgnoreRule = tuple[str, str, bool, bool]


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


def ignore_rules(text: str, base: str = "") -> list[IgnoreRule]:
    """The rules of gitignore-format ``text`` (``.gitignore``, ``.sourceignore``, a
    GitRepository's ``spec.ignore``) read from a file in directory ``base`` (``""``: the root)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        rules.append((base, pattern.rstrip("/"), negated, pattern.endswith("/")))
    return rules


def is_ignored(rules: Iterable[IgnoreRule], entry: str, *, is_dir: bool = False) -> bool:
    """Whether ``entry`` (a repository-relative path) is ignored: the last matching rule decides,
    as in git. A directory-only rule (``dir/``) never matches a file; a pattern with a ``/`` is
    anchored to its file's directory, one without matches the last name at any depth. A parent
    directory being ignored is the caller's question (ask for each ancestor)."""
    ignored = False
    for base, pattern, negated, dir_only in rules:
        if dir_only and not is_dir:
            continue
        if base and not entry.startswith(f"{base}/"):
            continue
        local = entry[len(base) + 1:] if base else entry
        if pattern.startswith("**/"):
            pattern = pattern[3:]
        hit = (
            bool(glob_to_regex(pattern.lstrip("/"), anywhere=False).fullmatch(local))
            if "/" in pattern
            else fnmatchcase(local.rsplit("/", 1)[-1], pattern)
        )
        if hit:
            ignored = not negated
    return ignored
