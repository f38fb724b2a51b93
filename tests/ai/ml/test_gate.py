from __future__ import annotations

import threading

import pytest

from ainos.ai.ml import ModelGate
from ainos.errors import DeadlineExceeded, QueueFull


def test_the_concurrency_and_waiting_limits_hold() -> None:
    gate = ModelGate("m", max_concurrent=1, max_waiting=1)
    release = threading.Event()
    entered = threading.Event()
    positions: list[int] = []

    def holder() -> None:
        with gate.admitted("a"):
            entered.set()
            release.wait(30)

    def waiter() -> None:
        with gate.admitted("b") as position:
            positions.append(position)

    first = threading.Thread(target=holder)
    first.start()
    assert entered.wait(30)
    second = threading.Thread(target=waiter)
    second.start()
    while gate.stats().waiting == 0:
        threading.Event().wait(0.001)
    assert gate.position("b") == 1
    stats = gate.stats()
    assert (stats.in_flight, stats.waiting, stats.holders) == (1, 1, ("a",))
    with pytest.raises(QueueFull, match="1 requests running and 1 waiting"), gate.admitted("c"):
        pass
    release.set()
    first.join(30)
    second.join(30)
    assert positions == [1]
    assert gate.stats().rejected == 1
    assert gate.stats().in_flight == 0


def test_a_deadline_ends_the_wait_and_frees_the_place() -> None:
    gate = ModelGate("m", max_concurrent=1, max_waiting=4)
    with gate.admitted("a"):
        with pytest.raises(DeadlineExceeded), gate.admitted("b", timeout=0.01):
            pass
        assert gate.stats().waiting == 0
    with gate.admitted("c") as position:
        assert position == 0


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        ModelGate("m", max_concurrent=0, max_waiting=0)
