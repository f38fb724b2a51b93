"""Batching of array inputs and the cancel token."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ainos.kernel.scheduler import AbortReason, ArrayBatching, CancelToken, RunAborted


@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=5))
def test_merge_then_split_gives_each_job_its_own_rows(sizes: list[int]) -> None:
    b = ArrayBatching()
    parts = [
        {"a": np.full((n, 2), i, np.float32), "b": np.arange(n) + 100 * i}
        for i, n in enumerate(sizes)
    ]
    merged = b.merge(parts)
    assert b.rows(merged) == sum(sizes)
    outputs = [merged["a"] * 2, merged["b"]]
    for i, (part, out) in enumerate(zip(parts, b.split(outputs, sizes), strict=True)):
        np.testing.assert_array_equal(out[0], part["a"] * 2)
        np.testing.assert_array_equal(out[1], part["b"])
        assert (out[0] == 2 * i).all()


def test_take_and_join_cut_and_restore_one_job() -> None:
    b = ArrayBatching()
    x = {"x": np.arange(10).reshape(5, 2)}
    chunks = [b.take(x, 0, 2), b.take(x, 2, 5)]
    assert [b.rows(c) for c in chunks] == [2, 3]
    joined = b.join([[c["x"]] for c in chunks])
    np.testing.assert_array_equal(joined[0], x["x"])


def test_inputs_must_agree_on_rows() -> None:
    with pytest.raises(ValueError, match="batch size"):
        ArrayBatching().rows({"a": np.zeros(2), "b": np.zeros(3)})


def test_token_trips_once_and_calls_back_once() -> None:
    token = CancelToken()
    calls: list[str] = []
    unregister = token.on_cancel(lambda: calls.append("kept"))
    token.on_cancel(lambda: calls.append("dropped"))()  # registered then withdrawn
    token.raise_if_cancelled()
    assert token.cancel(AbortReason.PREEMPTED)
    assert not token.cancel(AbortReason.DEADLINE)
    assert token.reason is AbortReason.PREEMPTED
    assert calls == ["kept"]
    unregister()
    token.on_cancel(lambda: calls.append("late"))  # already tripped: called at once
    assert calls == ["kept", "late"]
    with pytest.raises(RunAborted, match="preempted"):
        token.raise_if_cancelled()


def test_job_ids_are_distinct_hex_across_blocks_threads_and_a_fork() -> None:
    import os
    import threading

    from ainos.kernel.scheduler import new_job_id

    seen: list[str] = []

    def take() -> None:
        seen.extend(new_job_id() for _ in range(600))  # past a block of 256 more than once

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == len(seen) == 2400
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in seen)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids must not be those its parent hands out next
        os.write(write, new_job_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    assert child != new_job_id()
