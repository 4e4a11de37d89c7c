"""What is searched for: a leaked value held in memory, or its keyed fingerprint alone.

After the value is read, sopskit keeps only ``hmac-sha256:<hex>`` under a random per-incident
key. The record stores that key, so ``leak status`` can re-check without the value: it
HMACs every window of the value's length inside runs of characters that can belong to the
value (the value contains none of the delimiters it is split on), which finds every
occurrence. The record therefore also holds the value's length and which of a few delimiter
characters it does not contain; that is the whole of what it says about the value.

Each probe looks for the value as written and for its base64 form (what a Kubernetes Secret's
``data:`` holds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sopskit.errors import FormatError, UsageError

FINGERPRINT_PREFIX = "hmac-sha256:"
#: characters a token usually ends at; those the value contains are not split on
DELIMITERS = b" \t\r\n\"'`,;:=<>()[]{}|&#\\"
#: below this, windows are too many and matches too likely to mean anything
MIN_LENGTH = 6


class Probe(Protocol):
    """Finds a leaked value in bytes; says which encodings of it occur. Holds no printable secret."""

    fingerprint: str

    def find(self, data: bytes) -> list[str]: ...


def new_incident_key() -> bytes:
    return os.urandom(32)


def keyed_fingerprint(key: bytes, value: bytes) -> str:
    return FINGERPRINT_PREFIX + hmac.new(key, value, hashlib.sha256).hexdigest()


def value_forms(value: bytes) -> dict[str, bytes]:
    return {"plain": value, "base64": base64.b64encode(value)}


@dataclass(frozen=True)
class Form:
    """One encoding of the value as the record keeps it: no value, enough to re-find it."""

    encoding: str
    length: int
    split: bytes  # delimiters the form does not contain
    digest: str  # keyed fingerprint of the form

    def to_dict(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "length": self.length,
                "split": base64.b64encode(self.split).decode(), "hmac": self.digest}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Form:
        try:
            return cls(str(data["encoding"]), int(data["length"]), base64.b64decode(str(data["split"])),
                       str(data["hmac"]))
        except (KeyError, ValueError, TypeError):
            raise FormatError("incident record: a fingerprint form is malformed") from None


class ValueProbe:
    """The value in memory (bytes, never str in messages), for the fast search."""

    def __init__(self, value: bytes, key: bytes) -> None:
        value = value.strip(b"\r\n")
        if len(value) < MIN_LENGTH:
            raise UsageError(f"the value is shorter than {MIN_LENGTH} bytes: too short to search for reliably")
        self._forms = value_forms(value)
        self.key = key
        self.fingerprint = keyed_fingerprint(key, value)

    def __repr__(self) -> str:  # never the value, even in a debugger or a traceback
        return f"ValueProbe({self.fingerprint})"

    def find(self, data: bytes) -> list[str]:
        return [enc for enc, form in self._forms.items() if form in data]

    def forms(self) -> list[Form]:
        return [Form(enc, len(form), bytes(c for c in DELIMITERS if c not in form),
                     keyed_fingerprint(self.key, form)) for enc, form in self._forms.items()]


class KeyedProbe:
    """Re-finds a value from the record alone (HMAC key and forms): slower, needs no value."""

    def __init__(self, fingerprint: str, key: bytes, forms: Sequence[Form]) -> None:
        self.fingerprint = fingerprint
        self._key = key
        self._forms = list(forms)
        # the lookbehind makes a match start only at a run's first byte, so the scan stays linear
        self._runs = [re.compile(b"(?<![^%s])[^%s]{%d,}" % (re.escape(f.split), re.escape(f.split), f.length))
                      if f.split else re.compile(rb"(?s)\A.{%d,}" % f.length) for f in self._forms]

    def find(self, data: bytes) -> list[str]:
        found: list[str] = []
        for form, runs in zip(self._forms, self._runs, strict=True):
            if self._find_form(form, runs, data):
                found.append(form.encoding)
        return found

    def _find_form(self, form: Form, runs: re.Pattern[bytes], data: bytes) -> bool:
        n, key = form.length, self._key
        want = bytes.fromhex(form.digest.removeprefix(FINGERPRINT_PREFIX))
        for m in runs.finditer(data):
            run = m.group()
            for i in range(len(run) - n + 1):
                if hmac.compare_digest(hmac.digest(key, run[i:i + n], "sha256"), want):
                    return True
        return False


class FingerprintProbe:
    """A scanner finding's fingerprint (``sha256:`` of the secret): found wherever the scanner's
    rules find a secret with that fingerprint. Slower than a value search, and blind to copies
    the rules do not recognise; it needs no value at all."""

    def __init__(self, fingerprint: str) -> None:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", fingerprint):
            raise UsageError("--fingerprint takes a scanner finding's fingerprint: sha256:<64 hex digits>")
        from sopskit.scan.detect import DetectContext
        from sopskit.scan.engine import Matcher
        from sopskit.scan.rules import load_default_rules

        self.fingerprint = fingerprint
        ruleset = load_default_rules()
        self._ctx = DetectContext(Matcher(ruleset), ruleset)

    def find(self, data: bytes) -> list[str]:
        from sopskit.scan.detect import detect

        found, _skip = detect(data, ["(blob)"], self._ctx)
        return ["scanner"] if any(f.fingerprint == self.fingerprint for f in found) else []


__all__ = [
    "DELIMITERS",
    "FINGERPRINT_PREFIX",
    "FingerprintProbe",
    "Form",
    "KeyedProbe",
    "Probe",
    "ValueProbe",
    "keyed_fingerprint",
    "new_incident_key",
]
