"""The shared bounded pool: results in input order, the bound respected, ``on_done`` once per
item and never twice at once, and ``InOrder`` streaming in input order."""

from __future__ import annotations

import threading
import time

from sopskit.ops.pool import InOrder, run_bounded


def test_order_bound_and_on_done() -> None:
    lock = threading.Lock()
    running = peak = 0
    inside_on_done = 0
    done: list[int] = []

    def work(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002 * (item % 5))  # later items often finish first
        with lock:
            running -= 1
        return item * 10

    def on_done(index: int, result: int) -> None:
        nonlocal inside_on_done
        inside_on_done += 1
        assert inside_on_done == 1  # serialised
        assert result == index * 10
        done.append(index)
        inside_on_done -= 1

    items = list(range(40))
    assert run_bounded(items, work, workers=4, on_done=on_done) == [i * 10 for i in items]
    assert 1 < peak <= 4
    assert sorted(done) == items
    assert run_bounded(items, work, workers=1) == [i * 10 for i in items]


def test_in_order_streams_in_input_order() -> None:
    seen: list[str] = []
    emit = InOrder(seen.append)
    emit(2, "c")
    assert seen == []
    emit(0, "a")
    assert seen == ["a"]
    emit(1, "b")
    assert seen == ["a", "b", "c"]
