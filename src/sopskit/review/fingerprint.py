"""Keyed fingerprints of secret values: equality without disclosure.

A fingerprint is ``HMAC-SHA256(run_key, value)`` cut to a short hex string. The key is random
per run (never stored, never printed), so a fingerprint says "these two values are equal" within
one report and nothing else: it cannot be looked up in a table of common passwords, and two runs
cannot be correlated. A plain hash would let anyone who reads a CI log test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

#: hex characters shown: 48 bits, enough to tell values apart inside one report
FINGERPRINT_CHARS = 12


class Fingerprinter:
    """Fingerprints under one random key; make one per run (``rng`` only for tests)."""

    def __init__(self, *, rng: Callable[[int], bytes] = os.urandom) -> None:
        self._key = rng(32)

    def __repr__(self) -> str:  # the key never shows up in a repr or a traceback
        return "Fingerprinter(<per-run key>)"

    def digest(self, value: bytes | str) -> str:
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()[:FINGERPRINT_CHARS]

    def redacted(self, value: bytes | str) -> str:
        """The placeholder written instead of a value: ``REDACTED:<fingerprint>``."""
        return f"REDACTED:{self.digest(value)}"
