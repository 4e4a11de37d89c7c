"""The bounded pool the repository-wide commands share (updatekeys, rotate, doctor, leak key).

Why threads: the time of a many-file run against a key service goes into waiting for the
service (one unwrap round trip per file, sops #885), not into Python, so a few threads hide
the latency; a bound keeps a run from hammering the service's rate limits. Results always come
back in the order of the input, so a report is the same whatever the pool size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: files processed at once by the many-file operations; key services answer in tens of
#: milliseconds, so a few threads hide the latency without hammering their rate limits
DEFAULT_WORKERS = 8

def run_bounded(items: Sequence[T], work: Callable[[T], R], *, workers: int,
                on_done: Callable[[int, R], None] | None = None) -> list[R]:
    """``[work(item) for item in items]`` on at most ``workers`` threads, results in order.

    ``work`` must not raise for an expected failure (callers turn errors into results).
    ``on_done`` (progress, streamed reports) is called under one lock, so it never runs twice
    at once; ``index`` is the item's position in ``items``.
    """
    lock = threading.Lock()

    def tracked(pair: tuple[int, T]) -> R:
        index, item = pair
        result = work(item)
        if on_done is not None:
            with lock:
                on_done(index, result)
        return result

    numbered = list(enumerate(items))
    if workers <= 1 or len(items) <= 1:
        return [tracked(pair) for pair in numbered]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="sopskit-file") as pool:
        return list(pool.map(tracked, numbered))


class InOrder(Generic[R]):
    """Streams results in input order as soon as each one and all before it are done.

    For ``on_done``: a report printed through it is identical for a serial and a parallel run,
    yet a long run shows its first lines early.
    """

    def __init__(self, emit: Callable[[R], None]) -> None:
        self._emit = emit
        self._next = 0
        self._waiting: dict[int, R] = {}

    def __call__(self, index: int, result: R) -> None:
        self._waiting[index] = result
        while self._next in self._waiting:
            self._emit(self._waiting.pop(self._next))
            self._next += 1


__all__ = ["DEFAULT_WORKERS", "InOrder", "run_bounded"]
