"""The set of secret strings seen in one run, for redaction and for scrubbing messages.

Everything decrypted (generator inputs, patches, SOPS resources) and every variable taken from
a Secret goes in. Outputs are then redacted by value, not only by position, so a secret that
reaches a ConfigMap through ``postBuild`` substitution is caught too, and any third-party error
text (kustomize's stderr) is scrubbed before it can become an error message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from sopskit.format.recognize import is_enc_value
from sopskit.format.tree import TreeMap, Value
from sopskit.keys.base import KeyContext
from sopskit.ops.document import OpenedDocument
from sopskit.ops.sopsfile import open_encrypted, parse_encrypted

#: shorter values are redacted where they stand alone, not searched for inside other text
MIN_SEARCH_LENGTH = 4


class SecretValues:
    def __init__(self) -> None:
        self._values: set[str] = set()

    def __repr__(self) -> str:
        return f"SecretValues(<{len(self._values)} values>)"

    def add(self, value: str) -> None:
        if value:
            self._values.add(value)
            for line in value.splitlines():  # multi-line values reach outputs line by line too
                if len(line.strip()) >= MIN_SEARCH_LENGTH:
                    self._values.add(line.strip())

    def add_tree(self, branches: Iterable[Value]) -> None:
        """Every string of plaintext ``branches`` (all of them are secret)."""
        for branch in branches:
            self._add_value(branch)

    def add_decrypted(self, encrypted: Sequence[Value], decrypted: Sequence[Value]) -> None:
        """The plaintext of each value that was ``ENC[...]`` in ``encrypted`` (same shape):
        values the file left in clear (``kind``, ``metadata.name``) are not secrets."""
        for before, after in zip(encrypted, decrypted, strict=False):
            if isinstance(before, TreeMap) and isinstance(after, TreeMap):
                for key, child in before.items():
                    if key in after:
                        self.add_decrypted([child], [after[key]])
            elif isinstance(before, list) and isinstance(after, list):
                self.add_decrypted(before, after)
            elif isinstance(before, str) and is_enc_value(before):
                self._add_value(after)

    def _add_value(self, value: Value) -> None:
        if isinstance(value, TreeMap):
            for _, child in value.items():
                self._add_value(child)
        elif isinstance(value, list):
            for child in value:
                self._add_value(child)
        elif isinstance(value, str):
            self.add(value)
        elif isinstance(value, bytes):
            self.add(value.decode("utf-8", "replace"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self.add(str(value))

    def is_secret(self, text: str) -> bool:
        if text in self._values:
            return True
        return any(len(v) >= MIN_SEARCH_LENGTH and v in text for v in self._values)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``[REDACTED]``."""
        for value in sorted(self._values, key=len, reverse=True):
            if len(value) >= MIN_SEARCH_LENGTH or value == text:
                text = text.replace(value, "[REDACTED]")
        return text


def open_collecting(
    data: bytes, fmt: str, context: KeyContext, secrets: SecretValues, *, ignore_mac: bool = False
) -> OpenedDocument:
    """Decrypt ``data`` (MAC verified unless ``ignore_mac``) and remember its secret values."""
    branches, metadata = parse_encrypted(data, input_format=fmt)
    snapshot = copy.deepcopy(branches)
    opened = open_encrypted(data, parsed=(branches, metadata), context=context, ignore_mac=ignore_mac)
    secrets.add_decrypted(snapshot, opened.branches)
    return opened
