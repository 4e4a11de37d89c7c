"""``KeyContext.service_client``: one key-service client per key and run, shared by threads."""

from __future__ import annotations

import threading

import pytest

from sopskit.keys.base import KeyContext


def test_a_client_is_built_once_per_key_for_all_threads_of_a_run() -> None:
    context = KeyContext(env={})
    built: list[str] = []
    barrier = threading.Barrier(8)

    def build(name: str) -> object:
        built.append(name)
        return object()

    got: list[object] = []

    def worker() -> None:
        barrier.wait()
        got.append(context.service_client(("svc", "key-a"), lambda: build("key-a")))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["key-a"] and len({id(client) for client in got}) == 1
    other = context.service_client(("svc", "key-b"), lambda: build("key-b"))
    assert built == ["key-a", "key-b"] and other is not got[0]


def test_a_new_context_starts_with_new_clients_and_a_failed_build_is_not_kept() -> None:
    first, second = KeyContext(env={}), KeyContext(env={})
    a = first.service_client("k", object)
    assert second.service_client("k", object) is not a
    assert first.replace(gpg_exec="gpg2").service_client("k", object) is not a  # replace: a new run's context

    attempts: list[int] = []

    def failing_once() -> object:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("no credentials")
        return "client"

    with pytest.raises(RuntimeError):
        first.service_client("broken", failing_once)
    # the failure was not kept: the next file builds again (and then keeps the client)
    assert first.service_client("broken", failing_once) == "client" and len(attempts) == 2
    assert first.service_client("broken", failing_once) == "client" and len(attempts) == 2
    assert "_clients" not in repr(first) and first == KeyContext(env={})  # derived state, not a field
