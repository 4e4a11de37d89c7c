from __future__ import annotations

import pytest

from sopskit.errors import PathNotFoundError, SetFormatError
from sopskit.format.tree import TreeMap
from sopskit.ops.mutate import parse_set_value, set_value, unset_value


def test_scalar_numbers_become_float_containers_keep_ints() -> None:
    assert type(parse_set_value("5")) is float
    obj = parse_set_value('{"i": 5, "l": [1, 2.5]}')
    assert isinstance(obj, TreeMap) and type(obj["i"]) is int
    assert [type(x) for x in obj["l"]] == [int, float]  # type: ignore[union-attr]


def test_invalid_json_message_does_not_quote_the_value() -> None:
    with pytest.raises(SetFormatError) as err:
        parse_set_value("hunter2-secret")
    assert "hunter2" not in str(err.value)


def test_set_creates_and_reports_change() -> None:
    root = TreeMap([("a", "x")])
    assert set_value(root, ["b", "c", 0], "v") is True
    assert root["b"] == TreeMap([("c", ["v"])])
    assert set_value(root, ["a"], "x") is False
    assert set_value(root, ["a"], 1.0) is True  # same == but a different type is a change


def test_unset_missing_raises() -> None:
    root = TreeMap([("a", [1, 2])])
    unset_value(root, ["a", 0])
    assert root["a"] == [2]
    with pytest.raises(PathNotFoundError):
        unset_value(root, ["a", 5])
