"""The age backend under the many-file pool: one thread may be importing the post-quantum
module (wrapping for an ``age1pq`` recipient) while another decrypts with an X25519 identity."""

from __future__ import annotations

import sys
import types

import pytest

from sopskit.keys.age import _parse_identity, decrypt_age, generate_identity


def test_x25519_decrypt_while_the_pq_module_is_half_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyrage

    identity, recipient = generate_identity()
    blob = pyrage.encrypt(b"k" * 32, [pyrage.x25519.Recipient.from_str(recipient)])
    half = types.ModuleType("sopskit.keys.age_pq")  # what sys.modules holds mid-import: no classes yet
    monkeypatch.setitem(sys.modules, "sopskit.keys.age_pq", half)
    assert decrypt_age(blob, [_parse_identity(identity)]) == b"k" * 32
