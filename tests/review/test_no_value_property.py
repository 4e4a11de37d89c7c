"""Property: whatever the values, no plaintext byte sequence of the fixtures appears in any
review output (text, JSON, Markdown), with or without a key, including for a file that left
encryption (its plaintext is right there in the head side)."""

from __future__ import annotations

from pathlib import Path

import pyrage
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sopskit.config import parse_config
from sopskit.format.selection import SelectionRules
from sopskit.keys.base import KeyContext
from sopskit.ops.encrypt import encrypt
from sopskit.review.changes import FileChange, Review, review_change
from sopskit.review.fingerprint import Fingerprinter
from sopskit.review.render import RENDERERS

IDENTITY = pyrage.x25519.Identity.generate()
RECIPIENT = str(IDENTITY.to_public())
CONFIG = parse_config(f"creation_rules:\n  - path_regex: ^s/\n    age: {RECIPIENT}\n", Path("/r/.sops.yaml"))
SELECTION = SelectionRules(option="encrypted_regex", pattern="^(data|stringData)$")

# values distinctive enough that a chance match with report words is impossible
secret = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                 min_size=12, max_size=40).filter(lambda v: v.strip() == v and v[0] not in "-?:,[]{}#&*!|>'\"%@`")


def manifest(values: dict[str, str]) -> bytes:
    import json

    body = "".join(f"  {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in values.items())
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\nstringData:\n{body}".encode()


def encrypted(values: dict[str, str]) -> bytes:
    return encrypt(manifest(values), format="yaml", age=[RECIPIENT], config=False, selection=SELECTION)


def _review(before: dict[str, str], after: dict[str, str], decrypt_head: bool, with_key: bool) -> FileChange:
    new_bytes = manifest(after) if decrypt_head else encrypted(after)
    context = KeyContext(age_identities=[str(IDENTITY)]) if with_key else None
    change = review_change("s/db.yaml", encrypted(before), new_bytes, root=Path("/r"), config=CONFIG, repo=None,
                           fingerprints=Fingerprinter(), context=context)
    assert change is not None
    return change


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=st.lists(secret, min_size=2, max_size=2), new=secret, decrypt_head=st.booleans(),
       with_key=st.booleans())
def test_no_value_in_any_output(old: list[str], new: str, decrypt_head: bool, with_key: bool) -> None:
    before = {"password": old[0], "user": old[1]}
    after = {"password": new, "user": old[1], "added": new[::-1]}
    change = _review(before, after, decrypt_head, with_key)
    # the same change with other values: what the report says whatever the values are
    skeleton = _review({"password": "canary-one-1", "user": "canary-two-2"},
                       {"password": "canary-three", "user": "canary-two-2", "added": "canary-four"},
                       decrypt_head, with_key)
    baseline = "".join(render(Review("a..b", [skeleton])) for render in RENDERERS.values())
    for value in {*before.values(), *after.values()}:
        assume(value not in baseline)  # a value that is also a word of every report is no leak
    assert change.status == ("decrypted" if decrypt_head else "modified")
    assert change.keys_added == ["stringData.added"]
    if with_key:
        assert change.values_changed == ([] if new == old[0] else ["stringData.password"])
    outputs = [render(Review("a..b", [change])).encode() for render in RENDERERS.values()]
    for value in {*before.values(), *after.values()}:
        needle = value.encode()
        for out in outputs:
            assert needle not in out
