"""The body-free request log and fault injection (fail or drop requests) for resume tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw, minus any body: bodies may carry Secret data."""

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str | None
    accept: str | None
    user: str | None
    verb: str | None
    resource: str | None
    namespace: str | None
    name: str | None
    status: int = 0


FaultAction = str  # "drop" or an HTTP status as text, e.g. "503"


class FaultPlan:
    """Fault injection for resume tests: fail or drop requests once a countdown runs out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._countdown: int | None = None
        self._action: FaultAction = "503"
        self._predicates: list[tuple[Callable[[RequestRecord], bool], FaultAction]] = []
        self.triggered = 0

    def fail_after(self, n: int, *, status: int = 503) -> None:
        """Serve ``n`` more requests normally, then answer every request with ``status``."""
        with self._lock:
            self._countdown, self._action = n, str(status)

    def drop_after(self, n: int) -> None:
        """Serve ``n`` more requests, then close every connection without an answer."""
        with self._lock:
            self._countdown, self._action = n, "drop"

    def fail_when(
        self, predicate: Callable[[RequestRecord], bool], *, status: int | None = 503, drop: bool = False
    ) -> None:
        """Fail (or drop, with ``drop=True``) every request the predicate matches."""
        with self._lock:
            self._predicates.append((predicate, "drop" if drop else str(status)))

    def clear(self) -> None:
        with self._lock:
            self._countdown, self._predicates, self.triggered = None, [], 0

    def decide(self, record: RequestRecord) -> FaultAction | None:
        with self._lock:
            for predicate, action in self._predicates:
                if predicate(record):
                    self.triggered += 1
                    return action
            if self._countdown is None:
                return None
            if self._countdown > 0:
                self._countdown -= 1
                return None
            self.triggered += 1
            return self._action
