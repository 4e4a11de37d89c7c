"""The record bases that stand in for dataclasses (sopskit.record), and the classes built on them."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from sopskit.config.sops_yaml import CreationRule, KeySpec, parse_config
from sopskit.errors import KeyOutcome
from sopskit.format.keytypes import key_type
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.format.selection import SelectionRules
from sopskit.format.tree import Comment
from sopskit.keys.age_format import Stanza
from sopskit.keys.base import KeyContext
from sopskit.keys.identities import DiscoveredIdentities
from sopskit.record import FrozenRecord, Record
from sopskit.stores.limits import Limits


class Point(FrozenRecord):
    __slots__ = ("x", "y")
    _fields = ("y", "x")  # constructor order, not slot order

    def __init__(self, y: int, x: int = 0) -> None:
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "x", x)


class Vault(Record):
    __slots__ = ("name", "secret")
    _fields = ("name", "secret")
    _hidden = ("secret",)

    def __init__(self, name: str, secret: str) -> None:
        self.name = name
        self.secret = secret


def test_a_record_compares_and_shows_its_fields_in_constructor_order() -> None:
    assert repr(Point(1, 2)) == "Point(y=1, x=2)"
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert Point(1) != (1, 0)  # another class is never equal


def test_a_hidden_field_never_reaches_the_repr() -> None:
    vault = Vault("prod", "hunter2")
    assert repr(vault) == "Vault(name='prod', secret=...)"
    assert "hunter2" not in repr([vault])


def test_a_mutable_record_is_unhashable_and_assignable() -> None:
    vault = Vault("prod", "a")
    vault.secret = "b"
    assert vault == Vault("prod", "b")
    with pytest.raises(TypeError):
        hash(vault)


def test_a_frozen_record_refuses_assignment_and_deletion_and_hashes_by_value() -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.x
    assert point.x == 2
    assert hash(point) == hash(Point(1, 2))
    assert len({point, Point(1, 2), Point(2, 1)}) == 2


def test_replace_changes_some_fields_and_refuses_unknown_ones() -> None:
    assert Point(1, 2).replace(x=5) == Point(1, 5)
    assert Vault("a", "s").replace(name="b") == Vault("b", "s")
    with pytest.raises(TypeError):
        Point(1).replace(z=1)


@pytest.mark.parametrize("value", [
    Limits(max_depth=7),
    KeyOutcome(0, "age", "age1example", "no identity"),
    SelectionRules("encrypted_regex", "^(data|stringData)$"),
    Comment(" note", inline=True),
    key_type("age"),
    KeySpec("age", "age1example"),
    Stanza("X25519", ("abc",), b"body"),
])
def test_frozen_records_pickle_copy_and_hash_unchanged(value: object) -> None:
    for again in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert again == value and type(again) is type(value)
        assert hash(again) == hash(value)
    with pytest.raises(AttributeError):
        value.__setattr__("anything", 1)


def test_selection_rules_rebuild_their_regex_when_unpickled() -> None:
    rules = pickle.loads(pickle.dumps(SelectionRules("encrypted_regex", "^data$")))
    assert rules.should_encrypt(["data"], [], False)
    assert not rules.should_encrypt(["kind"], [], False)


def test_context_and_identities_never_show_key_material() -> None:
    secret = "AGE-SECRET-KEY-" + "1" + "Q" * 58  # built at run time: the repository's own policy check stays clean
    context = KeyContext(age_identities=[secret], env={"SOPS_AGE_KEY": secret}, gpg_exec="gpg2")
    assert secret not in repr(context) and "gpg_exec='gpg2'" in repr(context)
    assert context.replace(gpg_exec="gpg") == KeyContext(age_identities=[secret], env=context.env, gpg_exec="gpg")
    with pytest.raises(TypeError):
        context.replace(no_such_field=1)
    found = DiscoveredIdentities([secret], ["SOPS_AGE_KEY"])
    assert secret not in repr(found) and "SOPS_AGE_KEY" in repr(found)


def test_metadata_replace_and_equality() -> None:
    metadata = Metadata([[KeyRecord("age", {"recipient": "age1example"})]], mac="m")
    changed = metadata.replace(mac="other")
    assert changed.mac == "other" and changed.key_groups is metadata.key_groups
    assert changed != metadata and metadata == Metadata([[KeyRecord("age", {"recipient": "age1example"})]], mac="m")


def test_a_replaced_creation_rule_keeps_its_compiled_path_regex() -> None:
    config = parse_config("creation_rules:\n  - path_regex: ^prod/\n    age: age1example\n", Path("/repo/.sops.yaml"))
    rule = config.creation_rules[0]
    copied = rule.replace(shamir_threshold=2)
    assert copied.shamir_threshold == 2 and copied.matches("prod/a.yaml") and not copied.matches("dev/a.yaml")
    assert copied != rule and copied.replace(shamir_threshold=0) == rule
    with pytest.raises(TypeError):
        rule.replace(path_regex="^dev/")
    assert isinstance(rule, CreationRule)


def test_age_and_pgp_keys_keep_their_identity_semantics_on_the_shared_base() -> None:
    from sopskit.keys.age import AgeKey
    from sopskit.keys.pgp import PgpKey

    pgp = PgpKey("FBC7 B9E2 A4F9 289A C0C1 D4FA 3FC5 9E8F 9D37 F1B0")
    assert repr(pgp) == "PgpKey('FBC7B9E2A4F9289AC0C1D4FA3FC59E8F9D37F1B0')"
    assert pgp == PgpKey("FBC7B9E2A4F9289AC0C1D4FA3FC59E8F9D37F1B0") and hash(pgp) == hash(("pgp", pgp.fingerprint))
    age = AgeKey.from_record(KeyRecord("age", {"recipient": " age1example "}))
    assert repr(age) == "AgeKey('age1example')" and hash(age) == hash(("age", "age1example"))
    assert age == AgeKey.from_record(KeyRecord("age", {"recipient": "age1example"}))
    assert age != AgeKey.from_record(KeyRecord("age", {"recipient": "age1other"})) and age != pgp
