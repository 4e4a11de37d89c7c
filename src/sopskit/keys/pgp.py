"""PGP master keys through the ``gpg`` binary.

sops first tries the Go OpenPGP library on the legacy ``pubring.gpg``/``secring.gpg``, then
falls back to the ``gpg`` binary; with modern GnuPG (keybox) the binary is what runs, so
sopskit uses only the binary. Encryption runs exactly sops's command line and stores the
armoured output trimmed of surrounding whitespace; the record has ``created_at`` (when this
entry was created, not the OpenPGP key's date), ``enc`` and ``fp``.

The binary is ``KeyContext.gpg_exec``, else ``SOPS_GPG_EXEC``, else ``gpg``; ``GNUPGHOME``
and the rest of the environment come from ``KeyContext.env``. gpg's stderr is summarised in
errors (it names keys, never plaintext); the decrypted bytes never are.
"""

from __future__ import annotations

import datetime as _dt
import re
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, SingleIdKey, quote_key_input, split_key_list, timestamp_of

_FINGERPRINT = re.compile(r"^(?:0[xX])?[0-9A-Fa-f]{8,40}!?$")
_STDERR_LINES = 3
_STDERR_CHARS = 300


def gpg_binary(context: KeyContext) -> str:
    return context.gpg_exec or context.env.get("SOPS_GPG_EXEC") or "gpg"


def _summarise_stderr(stderr: bytes) -> str:
    """The last few meaningful lines of gpg's diagnostics, for an error message."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    summary = " | ".join(lines[-_STDERR_LINES:])
    return summary[:_STDERR_CHARS] or "no diagnostics"


def run_gpg(args: Sequence[str], stdin: bytes, *, context: KeyContext, what: str) -> bytes:
    """Run gpg with ``args`` on ``stdin``; MasterKeyError (with gpg's stderr) on failure."""
    binary = gpg_binary(context)
    try:
        result = subprocess.run(
            [binary, *args], input=stdin, capture_output=True, env=dict(context.env), check=False
        )
    except OSError as exc:
        raise MasterKeyError(
            f"pgp: cannot run {binary!r}: {exc.strerror}",
            hint="install GnuPG or set SOPS_GPG_EXEC to the gpg binary",
        ) from exc
    if result.returncode != 0:
        raise MasterKeyError(f"pgp: {what} failed: {_summarise_stderr(result.stderr)}")
    return result.stdout


class PgpKey(SingleIdKey):
    """One OpenPGP key, by fingerprint (spaces removed; a trailing ``!`` pins a subkey)."""

    key_type: ClassVar[str] = "pgp"
    id_field: ClassVar[str] = "fp"

    def __init__(self, fingerprint: str) -> None:
        fp = "".join(fingerprint.split())
        if not _FINGERPRINT.match(fp):
            raise ConfigError(f"pgp: {quote_key_input(fp)} is not a key fingerprint")
        self.fingerprint = fp

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> Self:
        if isinstance(spec, Mapping):
            spec = str(spec.get("fp", ""))
        return cls(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> Self:
        key = cls.__new__(cls)  # what the file says, unvalidated: decrypt reports problems
        key.fingerprint = "".join(str(record.fields.get("fp") or "").split())
        return key

    def to_string(self) -> str:
        return self.fingerprint

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        bare = self.fingerprint.rstrip("!")
        args = [
            "--batch", "--no-default-recipient", "--yes", "--encrypt", "-a", "-r", self.fingerprint,
            "--trusted-key", bare[-16:], "--no-encrypt-to",
        ]
        armoured = run_gpg(args, data_key, context=context, what=f"encrypting to {self.fingerprint}")
        enc = armoured.decode("ascii", "replace").strip()
        if not enc:
            raise MasterKeyError(f"pgp: gpg produced no output encrypting to {self.fingerprint}")
        return KeyRecord("pgp", {"created_at": timestamp_of(now), "enc": enc, "fp": self.fingerprint})

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        args = ["--batch", "--no-tty", "--quiet", "-d"]
        plain = run_gpg(args, record.enc.encode(), context=context,
                        what=f"decrypting with {self.fingerprint}")
        if not plain:
            raise MasterKeyError(f"pgp: gpg returned no data decrypting with {self.fingerprint}")
        return plain


def parse_fingerprints(text: str) -> list[PgpKey]:
    """``--pgp`` / ``SOPS_PGP_FP`` / ``.sops.yaml`` ``pgp``: a comma-separated list."""
    return [PgpKey(item) for item in split_key_list(text)]
