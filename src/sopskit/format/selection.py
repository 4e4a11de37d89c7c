"""Which values a file encrypts: sops's six selection options (``Tree.shouldBeEncrypted``).

At most one option is set per file. With none set, the effective rule is
``unencrypted_suffix: _unencrypted``. Rules look at *every* key of the path (so everything
below ``nested_unencrypted:`` stays clear) and, for the comment options, at every comment of
the active comment stack. Regexes are searched unanchored, like Go's ``regexp.Match``, with
RE2 semantics (:mod:`sopskit.format.goregex`).

A pattern from a ``.sops.yaml`` rule or a flag must compile (``strict``, the default): sops would
silently encrypt nothing with a broken ``encrypted_regex``, so sopskit refuses it. A pattern read
from a file's metadata is taken as sops reads it: one that does not compile matches nothing, so
every file sops wrote (and opens) opens here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.errors import ConflictingParametersError, FormatError
from sopskit.record import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sopskit.format.goregex import GoRegex

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


class SelectionRules(FrozenRecord):
    """One (or none) of the six options; ``option`` is its name, ``pattern`` its value.

    Immutable and hashable (equality looks at ``option`` and ``pattern``). ``strict=False``:
    an invalid regex matches nothing instead of raising (file metadata, as sops). A record,
    not a dataclass, to keep :mod:`dataclasses` off the decrypt path; the compiled ``_regex``
    is derived state (rebuilt on unpickling, never compared or shown).
    """

    __slots__ = ("_regex", "option", "pattern")
    _fields = ("option", "pattern")

    option: str
    pattern: str
    _regex: GoRegex | None

    def __init__(
        self,
        option: str = "unencrypted_suffix",
        pattern: str = DEFAULT_UNENCRYPTED_SUFFIX,
        _regex: GoRegex | None = None,
        strict: bool = True,
    ) -> None:
        object.__setattr__(self, "option", option)
        object.__setattr__(self, "pattern", pattern)
        if option not in SELECTION_OPTIONS:
            raise FormatError(f"unknown selection option {option!r}")
        if option.endswith("regex"):
            from sopskit.format.goregex import compile_go_regex, go_regex_or_never  # only regex options

            _regex = compile_go_regex(pattern, what=option) if strict else go_regex_or_never(pattern)
        object.__setattr__(self, "_regex", _regex)

    def __reduce__(self) -> tuple[type[SelectionRules], tuple[str, str, None, bool]]:
        # the compiled regex is rebuilt (leniently: the pattern compiled once already)
        return (SelectionRules, (self.option, self.pattern, None, False))

    @classmethod
    def from_options(
        cls, options: dict[str, str | None], *, default: bool = True, strict: bool = True
    ) -> SelectionRules:
        """Build from a mapping of option name -> value; more than one set is an error.

        With none set, returns the default ``_unencrypted`` suffix rule. ``strict=False`` is for
        patterns read from a file's metadata (see the module docstring).
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
        return cls(option, pattern, strict=strict)

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
