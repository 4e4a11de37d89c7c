"""A named repository check: the unit that ``policy check`` and ``flux validate`` run.

Checks are near-declarative: an id that never changes (users write it in ``disable:`` lists
and SARIF viewers key on it), a title, what it catches, how to fix it, and one function that
yields violations. The catalogue in :mod:`sopskit.policy.checks` lists them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sopskit.policy.context import CheckContext
    from sopskit.policy.results import Violation


@dataclass(frozen=True)
class Check:
    """One guardrail. ``id`` is stable: renaming it breaks users' configs and SARIF history."""

    id: str
    title: str
    catches: str
    fix: str
    run: Callable[[CheckContext], Iterable[Violation]]
