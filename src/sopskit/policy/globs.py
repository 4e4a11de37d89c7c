"""Path globs with ``**`` for settings (production paths, excludes).

``fnmatch`` lets ``*`` cross ``/`` and has no ``**``, and ``glob.translate`` needs Python 3.13,
so this small translation gives the gitignore-like meaning users expect:
``*`` and ``?`` stay inside one path segment, ``**/`` matches zero or more directories, a
trailing ``/**`` matches everything below, and a pattern without ``/`` matches a name at any
depth.

Ignore files have two readers with different rules, sharing one parser (:func:`ignore_rules`):
git's (:func:`is_ignored`: ``.gitignore`` for git-mode file listing, where nothing below an
excluded directory can come back) and go-git's (:func:`go_git_ignored`: Flux's ``.sourceignore``,
a ``GitRepository``'s ``spec.ignore`` and Flux's default exclusions, which source-controller
applies to every file's full path on its own, so ``/*`` then ``!/kubernetes/main`` keeps
``kubernetes/main/...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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


def _scoped(base: str, entry: str) -> str | None:
    """``entry`` relative to the directory ``base`` of the rule's file; None outside it."""
    if not base:
        return entry
    return entry[len(base) + 1:] if entry.startswith(f"{base}/") else None


def is_ignored(rules: Iterable[IgnoreRule], entry: str, *, is_dir: bool = False) -> bool:
    """Whether ``entry`` (a repository-relative path) is ignored by git: the last matching rule
    decides. A directory-only rule (``dir/``) never matches a file; a pattern with a ``/`` is
    anchored to its file's directory, one without matches the last name at any depth. A parent
    directory being ignored is the caller's question (ask for each ancestor: git never looks
    inside an ignored directory, so nothing below it can be re-included)."""
    ignored = False
    for base, pattern, negated, dir_only in rules:
        if dir_only and not is_dir:
            continue
        local = _scoped(base, entry)
        if local is None:
            continue
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


def go_git_ignored(rules: Sequence[IgnoreRule], path: str, *, is_dir: bool = False) -> bool:
    """Whether go-git's gitignore matcher excludes ``path`` (repository-relative), as Flux's
    source-controller asks it for every file it puts in an artifact.

    fluxcd/pkg ``artifact/storage/archive.go`` ``Storage.Archive`` walks the whole tree and calls
    ``SourceIgnoreFilter`` with each file's full path (a matched directory is left out of the tar
    but still walked: no ``filepath.SkipDir``), so a parent directory being excluded does not
    decide for the files below it. ``sourceignore/gitignore/matcher.go`` ``matcher.Match`` (a
    copy of go-git v5.16.4 ``plumbing/format/gitignore``) takes the last pattern that matches;
    ``pattern.go`` ``pattern.Match``: a pattern without ``/`` (``simpleNameMatch``) matches any
    component of the path, a pattern with one (``globMatch``) is anchored to its file's directory
    and matches a prefix of the path's components (``/kubernetes`` matches
    ``kubernetes/a.yaml``), ``**`` crosses directories, and ``dir/`` fails only when the matched
    component is the file itself.
    """
    for base, pattern, negated, dir_only in reversed(rules):
        local = _scoped(base, path)
        if local is None:
            continue
        names = local.split("/")
        segments = pattern.split("/")
        hit = (
            _go_name_match(segments[0], names, dir_only, is_dir)
            if len(segments) == 1
            else _go_glob_match(segments, names, dir_only, is_dir)
        )
        if hit:
            return not negated
    return False


def _go_name_match(pattern: str, names: list[str], dir_only: bool, is_dir: bool) -> bool:
    """go-git ``simpleNameMatch``: the first component matching ``pattern`` decides."""
    for i, name in enumerate(names):
        if _go_component(pattern, name):
            return not (dir_only and not is_dir and i == len(names) - 1)
    return False


def _go_glob_match(segments: list[str], names: list[str], dir_only: bool, is_dir: bool) -> bool:
    """go-git ``globMatch``: the pattern's segments against the path's leading components."""
    matched = traverse = False
    for i, segment in enumerate(segments):
        if segment == "":
            traverse = False
            continue
        if segment == "**":
            if i == len(segments) - 1:
                break  # a trailing ``/**``: whatever the earlier segments matched
            traverse = True
            continue
        if "**" in segment or not names:
            return False
        if traverse:  # after ``**``: skip components up to the first that matches
            traverse = False
            while names:
                name, names = names[0], names[1:]
                if _go_component(segment, name):
                    matched = True
                    break
                if not names:
                    matched = False
        else:
            if not _go_component(segment, names[0]):
                return False
            matched = True
            names = names[1:]
    return matched and not (dir_only and not is_dir and not names)


def _go_component(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` of one path component (a malformed pattern matches nothing)."""
    regex = _go_match_regex(pattern)
    return regex is not None and regex.fullmatch(name) is not None


@lru_cache(maxsize=512)
def _go_match_regex(pattern: str) -> re.Pattern[str] | None:
    """``*``, ``?``, ``[...]`` (``^`` negates, ranges, ``\\`` escapes) and ``\\x`` as Go's
    ``path/filepath.Match`` reads them; None for a pattern it rejects (``ErrBadPattern``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            i += 1
            if i == n:
                return None
            out.append(re.escape(pattern[i]))
        elif char == "[":
            close, body = _go_class(pattern, i + 1)
            if close is None:
                return None
            out.append(body)
            i = close
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.S)


def _go_class(pattern: str, i: int) -> tuple[int | None, str]:
    """A ``[...]`` class starting after its ``[``: (index of its ``]``, regex), or (None, "")."""
    negated = i < len(pattern) and pattern[i] == "^"
    i += negated
    items: list[str] = []
    while i < len(pattern) and (pattern[i] != "]" or not items):
        low, i = _go_class_char(pattern, i)
        if low is None:
            return None, ""
        high: str | None = low
        if i < len(pattern) and pattern[i] == "-":
            high, i = _go_class_char(pattern, i + 1)
        if high is None or high < low:  # Go: a reversed range matches nothing
            return None, ""
        items.append(f"{re.escape(low)}-{re.escape(high)}")
    if i >= len(pattern):
        return None, ""
    return i, f"[{'^' if negated else ''}{''.join(items)}]"


def _go_class_char(pattern: str, i: int) -> tuple[str | None, int]:
    """One character of a class (``\\`` escapes the next); None where Go rejects it."""
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            return None, i
    return pattern[i], i + 1
