"""The one error hierarchy of sopskit.

Every error the library raises on purpose is a :class:`SopsError`. Each class carries the
exit code that sops uses for the equivalent failure (``cmd/sops/codes/codes.go``), so the
command line maps an error to an exit status in one place, and an optional ``hint``: one
line telling the user what to do next.

Messages never contain plaintext values or key material: they name files, key paths,
recipients and fingerprints, never what was encrypted.

::

    SopsError (1)
    ├── UsageError (1)                    bad arguments; ConflictingParametersError (8),
    │                                     InvalidEncryptionContextError (6)
    ├── ConfigError (1)                   .sops.yaml problems; NoMatchingRuleError, EmptyKeyGroupError
    ├── InputError (2)                    cannot read input; ParseError (plaintext syntax),
    │                                     LimitError (a resource limit of stores.limits exceeded)
    ├── OutputError (3)                   cannot write output
    ├── EmitError (4)                     a tree cannot be written in the output format
    ├── FormatError (1)                   not a valid SOPS file / metadata
    │   ├── MetadataNotFoundError (1)     no sops block at all (filestatus: not encrypted)
    │   ├── AlreadyEncryptedError (203)
    │   ├── NoDocumentError (92)
    │   └── TreePathError (91)            bad --extract / set path syntax; SetFormatError (7)
    ├── EncryptionError (23)
    ├── DecryptionError (25)              a value failed to decrypt (tampered, wrong AAD)
    ├── IntegrityError (51)               MAC missing, undecryptable or mismatched
    ├── MasterKeyError (1)                one master key failed (SDK error chained)
    ├── DataKeyUnavailableError (128)     no key group could be decrypted; carries outcomes
    ├── MissingExtraError (1)             an optional dependency is not installed
    ├── DuplicateDecryptionKeyTypeError (112)
    ├── EditorError (201)                 the editor could not be run
    ├── FileNotModifiedError (200)
    ├── CannotChangeKeysError (49)
    ├── NoFileSpecifiedError (100)
    ├── PathNotFoundError (1)             unset of a missing path
    ├── BufferKeptError (2)               edited text invalid; kept on tmpfs
    └── ClusterError (1)                  Kubernetes API failures (subclasses in k8s.errors)
"""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.record import FrozenRecord


class SopsError(Exception):
    """Root of all sopskit errors. ``str(err)`` is one line fit for a user."""

    exit_code: int = 1
    #: print the message exactly as sops does (no ``sopskit:`` prefix, hint only on a
    #: terminal), for the few errors whose text scripts and sops's own tests match on
    verbatim: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SopsError):
    """The command line or API call is malformed."""


class ConflictingParametersError(UsageError):
    exit_code = 8


class InvalidEncryptionContextError(UsageError):
    exit_code = 6


class ConfigError(SopsError):
    """The ``.sops.yaml`` file is missing, unreadable or invalid."""


class NoMatchingRuleError(ConfigError):
    """No creation rule in ``.sops.yaml`` matches the file."""


class EmptyKeyGroupError(ConfigError):
    """The matching creation rule has no keys, or a key group without keys."""

    verbatim = True


class InputError(SopsError):
    """The input could not be read."""

    exit_code = 2


class ParseError(InputError):
    """The plaintext input is not valid in its format (broken YAML, JSON, ...)."""


class LimitError(ParseError):
    """The input goes over a documented resource limit (depth, size, nodes, list index)."""


class OutputError(SopsError):
    exit_code = 3


class EmitError(SopsError):
    exit_code = 4


class FormatError(SopsError):
    """The file is not a valid SOPS file (metadata missing or malformed, bad ENC string)."""


class MetadataNotFoundError(FormatError):
    """The file has no ``sops`` metadata block at all (sops's ``sops.MetadataNotFound``).

    The one load failure ``filestatus`` reports as "not encrypted" instead of an error.
    """


class AlreadyEncryptedError(FormatError):
    exit_code = 203


class NoDocumentError(FormatError):
    exit_code = 92


class TreePathError(FormatError):
    exit_code = 91


class SetFormatError(FormatError):
    exit_code = 7


class EncryptionError(SopsError):
    exit_code = 23


class DecryptionError(SopsError):
    """A value could not be decrypted: tampered ciphertext, wrong key path (AAD) or data key."""

    exit_code = 25


class IntegrityError(SopsError):
    """The MAC is missing, cannot be decrypted, or does not match the values."""

    exit_code = 51


class MasterKeyError(SopsError):
    """One master key could not encrypt or decrypt; the backend's exception is the cause."""


class KeyOutcome(FrozenRecord):
    """What one master key answered when asked for the data key (never key material).

    An immutable record, not a dataclass: importing :mod:`dataclasses` (and the
    :mod:`inspect` it pulls in) would cost every cold ``sopskit decrypt`` ~10 ms.
    """

    __slots__ = ("error", "group", "key", "key_type")
    _fields = ("group", "key_type", "key", "error")

    group: int
    key_type: str
    key: str
    error: str | None  # None means this key succeeded

    def __init__(self, group: int, key_type: str, key: str, error: str | None) -> None:
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "error", error)


class DataKeyUnavailableError(SopsError):
    """No data key could be recovered; ``outcomes`` says what every master key answered."""

    exit_code = 128

    def __init__(
        self, message: str, outcomes: Sequence[KeyOutcome] = (), *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.outcomes = tuple(outcomes)

    def report(self) -> str:
        """Multi-line report: one line per master key tried."""
        lines = [self.message]
        for o in self.outcomes:
            state = "ok" if o.error is None else o.error
            lines.append(f"  group {o.group}: {o.key_type} {o.key}: {state}")
        return "\n".join(lines)


class MissingExtraError(SopsError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs an optional dependency that is not installed",
            hint=f"pip install 'sopskit[{extra}]'",
        )
        self.extra = extra


class DuplicateDecryptionKeyTypeError(UsageError):
    exit_code = 112


class EditorError(SopsError):
    exit_code = 201


class FileNotModifiedError(SopsError):
    exit_code = 200


class CannotChangeKeysError(SopsError):
    exit_code = 49


class NoFileSpecifiedError(SopsError):
    exit_code = 100


class PathNotFoundError(SopsError):
    """``unset`` of a tree path that does not exist (sops: generic error, exit 1)."""


class BufferKeptError(InputError):
    """The edited text did not parse; it was kept on tmpfs so it can be recovered."""


class ClusterError(SopsError):
    """The Kubernetes API refused or failed a request (RBAC, connectivity, conflicts).

    Subclasses for each API answer (unreachable, 401, 403 with the minimal Role as hint,
    404, 409) live in :mod:`sopskit.k8s.errors`, next to the code that maps them.
    """
