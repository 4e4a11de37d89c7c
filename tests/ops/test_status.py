"""``filestatus`` as sops defines it: only a missing ``sops`` block is "not encrypted"; a block
sops cannot load (no keys, malformed time) is an error (``cmd/sops/subcommand/filestatus``:
``LoadEncryptedFile`` converts the metadata, and only ``sops.MetadataNotFound`` maps to false).
Found by bench/opens.py on real repositories' history; the fixtures are made up.
"""

from __future__ import annotations

import pytest

from sopskit.errors import FormatError
from sopskit.ops.status import file_status

_AGE = "age1" + "q" * 58
_GOOD = (
    "a: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n"
    "sops:\n"
    "    age:\n"
    f"        - recipient: {_AGE}\n"
    "          enc: x\n"
    "    lastmodified: '2024-01-01T00:00:00Z'\n"
    "    mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n"
    "    version: 3.11.0\n"
)


def test_a_complete_file_is_encrypted() -> None:
    assert file_status(_GOOD.encode(), input_format="yaml").encrypted


@pytest.mark.parametrize(("text", "fmt"), [
    ("a: 1\n", "yaml"),
    ('{"a": 1}', "json"),
    ("A=1\n", "dotenv"),
    ("[a]\nb = 1\n", "ini"),
    ("\x00\x01 not json", "binary"),
    (_GOOD.replace("    mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n", ""), "yaml"),
    (_GOOD.replace("    version: 3.11.0\n", ""), "yaml"),
])
def test_not_encrypted(text: str, fmt: str) -> None:
    assert not file_status(text.encode(), input_format=fmt).encrypted


@pytest.mark.parametrize(("old", "new", "match"), [
    # a sops block without keys (sops: "No keys found in file")
    (f"    age:\n        - recipient: {_AGE}\n          enc: x\n", "    age: []\n", "no master keys"),
    # a created_at sops cannot parse (sops: "parsing time")
    ("          enc: x\n", "          enc: x\n          created_at: '1484000000.5'\n", "created_at"),
    ("'2024-01-01T00:00:00Z'", "''", "lastmodified"),
])
def test_a_sops_block_sops_cannot_load_is_an_error(old: str, new: str, match: str) -> None:
    assert old in _GOOD
    with pytest.raises(FormatError, match=match):
        file_status(_GOOD.replace(old, new).encode(), input_format="yaml")
