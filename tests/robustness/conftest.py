"""Fixtures for the red-team tests: one age identity and one encrypted file per store, built
once per worker with sopskit itself; each test gets a private copy in its own directory."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.robustness import _harness as h


@dataclass
class World:
    keys: h.Keys
    home: Path
    fixtures: dict[str, h.Fixture]

    def env(self, **extra: str) -> dict[str, str]:
        return h.base_env(self.home, self.keys, **extra)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("robustness")
    home = base / "home"
    home.mkdir()
    keys = h.new_keys()
    env = h.base_env(home, keys)
    fixtures = {}
    for store in h.STORES:
        directory = base / store
        directory.mkdir()
        fixtures[store] = h.make_fixture(store, directory, keys, env)
    return World(keys, home, fixtures)


@pytest.fixture()
def place(world: World, tmp_path: Path) -> Callable[[str, bytes | None], h.Fixture]:
    """Put ``data`` (default: the intact encrypted file) of ``store`` into a fresh directory
    with a .sops.yaml for the test key, and return the fixture pointing at it."""
    counter = iter(range(10**6))

    def _place(store: str, data: bytes | None = None) -> h.Fixture:
        original = world.fixtures[store]
        directory = tmp_path / f"case{next(counter)}"
        directory.mkdir()
        (directory / ".sops.yaml").write_text(h.sops_yaml(world.keys.recipient))
        path = directory / original.path.name
        if data is None:
            shutil.copyfile(original.path, path)
        else:
            path.write_bytes(data)
        return replace(original, path=path)

    return _place
