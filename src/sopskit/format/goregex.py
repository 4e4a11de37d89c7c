"""User-supplied regular expressions with Go ``regexp`` semantics, on RE2 (linear time).

sops compiles ``path_regex`` and the four selection regexes (``encrypted_regex``,
``unencrypted_regex``, ``encrypted_comment_regex``, ``unencrypted_comment_regex``) with Go's
``regexp`` package, whose syntax and matching are RE2's: flags anywhere in the pattern
(``((?i)(pass|secret|key))``), ``\\z``, ``\\pL``, ``[[:alpha:]]``, ASCII ``\\d``/``\\w``/``\\b``,
``$`` only at the very end without ``(?m)``, no backreferences or look-around, and time linear
in the input. Python's ``re`` differs on every one of those points (it refuses mid-pattern
flags, backtracks exponentially on ``^(a+)+$``), so every such pattern is compiled here, once,
with the RE2 library itself (the ``google-re2`` wheel, imported on first use), never with ``re``.

Matching is Go's ``regexp.MatchString``: an unanchored search that answers yes or no. Text is
matched as UTF-8 bytes, as Go does; a lone surrogate (only possible from odd JSON) is matched as
U+FFFD, the rune Go decodes it to.

RE2 (C++) accepts one escape that Go refuses, ``\\C`` (any byte); it is refused here so that a
pattern is valid exactly when sops accepts it.

This module lives in the pure core because the core's selection rules need it; RE2 does no I/O.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sopskit.errors import FormatError

__all__ = ["GoRegex", "compile_go_regex", "go_regex_or_never"]


class GoRegex:
    """A compiled pattern; :meth:`search` is Go's ``MatchString`` (unanchored, yes or no).

    A pattern that did not compile (only made by :func:`go_regex_or_never`) matches nothing,
    which is what sops's ``matched, _ := regexp.Match(...)`` does with a bad pattern stored in a
    file's metadata; :attr:`error` then says why.
    """

    __slots__ = ("_compiled", "_seen", "error", "pattern")

    #: answers remembered per pattern: a tree's keys repeat a lot (``data``, ``metadata``),
    #: and one RE2 call through the binding costs several microseconds
    _MEMO_SIZE = 4096

    def __init__(self, pattern: str, compiled: Any, error: str | None = None) -> None:
        self.pattern = pattern
        self._compiled = compiled
        self.error = error
        self._seen: dict[str, bool] = {}

    def search(self, text: str) -> bool:
        seen = self._seen
        answer = seen.get(text)
        if answer is None:
            answer = self._search(text)
            if len(seen) >= self._MEMO_SIZE:
                seen.clear()
            seen[text] = answer
        return answer

    def _search(self, text: str) -> bool:
        compiled = self._compiled
        if compiled is None:
            return False
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text).encode("utf-8")
        return compiled.search(data) is not None

    def __repr__(self) -> str:
        return f"GoRegex({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoRegex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)


def _go_refuses(pattern: str) -> str | None:
    """The error Go gives for syntax RE2 (C++) accepts, or None."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E is literal text: skip it whole
                end = pattern.find("\\E", i + 2)
                if end < 0:
                    return None
                i = end + 2
                continue
            if nxt == "C":
                return "invalid escape sequence: `\\C`"
            i += 2
            continue
        i += 1
    return None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple[Any, str | None]:
    """(compiled RE2 object, None) or (None, error message); cached, patterns repeat a lot."""
    refused = _go_refuses(pattern)
    if refused is not None:
        return None, refused
    try:
        import re2
    except ImportError:  # pragma: no cover - a base dependency; only a broken install lands here
        raise FormatError(
            "regular expressions need the google-re2 package, which is not installed",
            hint="pip install 'google-re2>=1.1'",
        ) from None
    options = re2.Options()
    options.log_errors = False  # RE2 would print every syntax error on stderr
    options.never_capture = True  # only yes/no is needed: the fastest automaton
    try:
        return re2.compile(pattern, options), None
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, str(detail)


def compile_go_regex(pattern: str, *, what: str = "regular expression") -> GoRegex:
    """Compile ``pattern`` or raise one :class:`FormatError` line naming ``what`` and why."""
    compiled, error = _compile(pattern)
    if compiled is None:
        raise FormatError(f"invalid {what} `{pattern}`: {error}")
    return GoRegex(pattern, compiled)


def go_regex_or_never(pattern: str) -> GoRegex:
    """Compile ``pattern``; an invalid one becomes a regex that matches nothing (sops's reading)."""
    compiled, error = _compile(pattern)
    return GoRegex(pattern, compiled, error)
