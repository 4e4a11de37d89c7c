"""Which values a file encrypts: sops's six selection options (``Tree.shouldBeEncrypted``).

At most one option is set per file. With none set, the effective rule is
``unencrypted_suffix: _unencrypted``. Rules look at *every* key of the path (so everything
below ``nested_unencrypted:`` stays clear) and, for the comment options, at every comment of
the active comment stack. Regexes are searched unanchored, like Go's ``regexp.Match``, after
the RE2 spellings Python lacks are translated (``sopskit.format.goregex``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sopskit.errors import ConflictingParametersError, FormatError
from sopskit.format.goregex import translate_go_regex

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

#: The metadata / .sops.yaml / flag stems of the six options, in sops's evaluation order.
SELECTION_OPTIONS = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)


@dataclass(frozen=True)
class SelectionRules:
    """One (or none) of the six options; ``option`` is its name, ``pattern`` its value."""

    option: str = "unencrypted_suffix"
    pattern: str = DEFAULT_UNENCRYPTED_SUFFIX
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.option not in SELECTION_OPTIONS:
            raise FormatError(f"unknown selection option {self.option!r}")
        if self.option.endswith("regex"):
            try:
                object.__setattr__(self, "_regex", re.compile(translate_go_regex(self.pattern)))
            except re.error as exc:
                raise FormatError(f"invalid {self.option} {self.pattern!r}: {exc}") from None

    @classmethod
    def from_options(cls, options: dict[str, str | None], *, default: bool = True) -> SelectionRules:
        """Build from a mapping of option name -> value; more than one set is an error.

        With none set, returns the default ``_unencrypted`` suffix rule.
        """
        chosen = [(k, v) for k in SELECTION_OPTIONS if (v := options.get(k))]
        if len(chosen) > 1:
            names = ", ".join(k for k, _ in chosen)
            raise ConflictingParametersError(
                f"only one of the selection options may be set, got {names}"
            )
        if not chosen:
            return cls()
        option, pattern = chosen[0]
        assert pattern is not None
        return cls(option, pattern)

    def should_encrypt(
        self, path: Sequence[str], comments: Sequence[Sequence[str]], is_comment: bool
    ) -> bool:
        """sops's decision for one leaf at ``path`` under the active comment stack."""
        option = self.option
        if option == "unencrypted_suffix":
            return not any(k.endswith(self.pattern) for k in path)
        if option == "encrypted_suffix":
            return any(k.endswith(self.pattern) for k in path)
        regex = self._regex
        assert regex is not None
        if option == "unencrypted_regex":
            return not any(regex.search(k) for k in path)
        if option == "encrypted_regex":
            return any(regex.search(k) for k in path)
        if option == "unencrypted_comment_regex":
            return not any(regex.search(c) for level in comments for c in level)
        # encrypted_comment_regex: the matching comment line itself stays clear
        last = len(comments) - 1
        for i, level in enumerate(comments):
            for j, c in enumerate(level):
                if is_comment and i == last and j == len(level) - 1:
                    continue
                if regex.search(c):
                    return True
        return False
