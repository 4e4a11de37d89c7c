"""Every real sops vector: each master-key record unwraps to the manifest's data key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sopskit.format.metadata import metadata_from_plain
from sopskit.keys import key_from_record
from sopskit.keys.base import KeyContext
from sopskit.keys.datakey import recover_data_key
from tests.conftest import VECTORS
from tests.keys.sops_blocks import read_sops_block

MANIFEST_PATH = VECTORS / "manifest.json"


def _vector_ids() -> list[str]:
    import json

    if not MANIFEST_PATH.exists():
        return ["<vectors missing>"]
    return [v["file"] for v in json.loads(MANIFEST_PATH.read_text())["vectors"]]


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    for vector in manifest["vectors"]:
        if vector["file"] == name:
            return dict(vector)
    pytest.fail(f"vector {name} not in the manifest")


@pytest.mark.parametrize("name", _vector_ids())
def test_every_record_unwraps_to_the_data_key(
    name: str, manifest: dict[str, Any], vectors_dir: Path, key_env: dict[str, str]
) -> None:
    vector = _entry(manifest, name)
    metadata = metadata_from_plain(read_sops_block(vectors_dir / vector["file"], vector["store"]))
    records = metadata.records()
    assert [r.key_type for r in records] == [k["type"] for k in vector["master_keys"]]
    context = KeyContext(env=dict(os.environ))
    expected = bytes.fromhex(vector["data_key_hex"])
    for record in records:
        assert key_from_record(record).decrypt(record, context=context) == expected
    assert recover_data_key(metadata, context=context) == expected


def test_vector_age_records_name_the_recipients_of_keys_txt(
    manifest: dict[str, Any], vectors_dir: Path, age_keys_file: Path
) -> None:
    from sopskit.keys.age import public_key_of
    from sopskit.keys.identities import parse_identity_file

    ours = {public_key_of(i) for i in parse_identity_file(age_keys_file.read_text(), location="keys.txt")}
    for vector in manifest["vectors"]:
        for key in vector["master_keys"]:
            if key["type"] == "age":
                assert key["recipient"] in ours
