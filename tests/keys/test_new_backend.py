"""Adding a key backend is one module plus one row of the key-type table.

The test registers a made-up backend (``tests/keys/_dummy_backend.py`` and one
:class:`~sopskit.format.keytypes.KeyType` row) and then drives the real CLI entry point in
process: ``--dummy`` and its environment variable, the ``.sops.yaml`` rule field and
``key_groups`` field, the ``sops`` metadata block, ``rotate --add-dummy``/``--rm-dummy``,
``groups add --dummy`` and ``--decryption-order``. Nothing else in ``src/`` knows the type.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sopskit.format.keytypes import KeyType, register, unregister

PLAIN = b"db:\n    password: hunter2-XYZ\n    port: 5432\n"
ROW = KeyType(
    name="dummy",
    backend="tests.keys._dummy_backend:DummyKey",
    flags=("--dummy",),
    env="SOPS_DUMMY_KEYS",
    help="dummy keys, comma separated",
    rule_field="dummy_keys",
    group_field="dummy",
    record_id=("key_id",),
    flux_secret_key="sops.dummy",
)


@pytest.fixture()
def dummy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("SOPS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    register(ROW)
    try:
        yield tmp_path
    finally:
        unregister("dummy")


def sopskit(*argv: str) -> int:
    from sopskit.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0)


def records(path: Path) -> list[list[str]]:
    """The dummy key IDs of each key group of an encrypted YAML file."""
    sops = yaml.safe_load(path.read_text())["sops"]
    groups = sops.get("key_groups") or [sops]
    return [[r["key_id"] for r in g.get("dummy") or []] for g in groups]


def round_trip(path: Path) -> bytes:
    out = path.with_name("out.yaml")
    assert sopskit("decrypt", "--output", str(out), str(path)) == 0
    return out.read_bytes()


def test_cli_flag_env_and_metadata(dummy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (dummy / "plain.yaml").write_bytes(PLAIN)
    assert sopskit("encrypt", "--dummy", "dk-one,dk-two", "--output", "a.enc.yaml", "plain.yaml") == 0
    enc = dummy / "a.enc.yaml"
    assert b"hunter2" not in enc.read_bytes()
    assert records(enc) == [["dk-one", "dk-two"]]
    assert round_trip(enc) == PLAIN

    monkeypatch.setenv("SOPS_DUMMY_KEYS", "dk-env")
    assert sopskit("encrypt", "--output", "b.enc.yaml", "plain.yaml") == 0
    assert records(dummy / "b.enc.yaml") == [["dk-env"]]
    assert round_trip(dummy / "b.enc.yaml") == PLAIN


def test_sops_yaml_rule_and_key_groups(dummy: Path) -> None:
    (dummy / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: groups/\n"
        "    shamir_threshold: 2\n"
        "    key_groups:\n"
        "      - dummy: [dk-g1]\n"
        "      - dummy: [dk-g2]\n"
        "  - dummy_keys: dk-rule\n"
    )
    (dummy / "groups").mkdir()
    for name in ("plain.yaml", "groups/plain.yaml"):
        (dummy / name).write_bytes(PLAIN)
        assert sopskit("encrypt", "-i", name) == 0
    assert records(dummy / "plain.yaml") == [["dk-rule"]]
    assert records(dummy / "groups/plain.yaml") == [["dk-g1"], ["dk-g2"]]
    for name in ("plain.yaml", "groups/plain.yaml"):
        assert round_trip(dummy / name) == PLAIN


def test_rotate_groups_and_decryption_order(dummy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (dummy / "plain.yaml").write_bytes(PLAIN)
    assert sopskit("encrypt", "--dummy", "dk-old", "-i", "plain.yaml") == 0
    assert sopskit("rotate", "-i", "--add-dummy", "dk-new", "--rm-dummy", "dk-old", "plain.yaml") == 0
    assert records(dummy / "plain.yaml") == [["dk-new"]]
    assert sopskit("groups", "add", "-f", "plain.yaml", "-i", "--dummy", "dk-second") == 0
    assert records(dummy / "plain.yaml") == [["dk-new"], ["dk-second"]]
    assert sopskit("decrypt", "--decryption-order", "dummy,age", "--output", "o.yaml", "plain.yaml") == 0
    assert (dummy / "o.yaml").read_bytes() == PLAIN
    # the backend really runs: a locked key fails the decryption with sops's exit code
    monkeypatch.setenv("DUMMY_LOCKED", "1")
    assert sopskit("decrypt", "--output", "o2.yaml", "plain.yaml") == 128


def test_unregistered_type_is_unknown(dummy: Path) -> None:
    unregister("dummy")
    try:
        from sopskit.format.metadata import KEY_TYPES

        assert "dummy" not in KEY_TYPES
        assert sopskit("encrypt", "--dummy", "dk-x", "--output", "x.yaml", "plain.yaml") == 2  # argparse: unknown flag
    finally:
        register(ROW)


def test_flux_secret_key_names_come_from_the_table(dummy: Path) -> None:
    # doctor (cluster Secret) and policy (committed decryption Secret) both ask the table
    from sopskit.doctor.cluster import KeySecret
    from sopskit.policy.checks.flux import flux_reads as policy_reads

    assert policy_reads("sops.dummy") and policy_reads("age.agekey") and policy_reads("sops.azure-kv")
    assert not policy_reads("keys.txt") and not policy_reads("sops.hckms")
    assert KeySecret("flux-system", "sops-keys", True, key_names=["sops.dummy", "keys.txt"]).readable == ["sops.dummy"]
    unregister("dummy")
    assert not policy_reads("sops.dummy")
    register(ROW)
