"""Fixtures for tests/hostile: an age key per test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile._support import Env


@pytest.fixture()
def keyenv(tmp_path: Path) -> Env:
    return Env(tmp_path)
