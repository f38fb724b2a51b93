"""Chunk sizing: the cost model, the arrival predictor, and the plans they make."""

from __future__ import annotations

import pytest

from ainos.kernel.scheduler import BatchingConfig, ExecutorSlots, PolicyConfig, SchedulingPolicy
from ainos.kernel.scheduler._arrivals import ArrivalPredictor
from ainos.kernel.scheduler._chunking import ChunkController
from ainos.kernel.scheduler._cost import CostModel
from ainos.protocol.scheduler import JobSpec, Priority


def test_cost_model_separates_the_fixed_cost_of_a_run() -> None:
    cost = CostModel()
    cost.add(8, 0.001 + 8 * 0.002)
    assert cost.overhead == 0.0  # one size seen: all per row
    cost.add(32, 0.001 + 32 * 0.002)
    assert cost.per_row == pytest.approx(0.002)
    assert cost.overhead == pytest.approx(0.001)
    assert cost.rows_within(0.011) == 5
    assert cost.rows_within(0.0005) == 0


def test_predictor_recognises_a_steady_rate_and_nothing_else() -> None:
    steady = ArrivalPredictor()
    for i in range(6):
        steady.add(i * 0.050 + (0.001 if i % 2 else 0.0))
    expected = steady.expected(0.26)
    assert expected is not None
    due, jitter, period = expected
    assert due == pytest.approx(0.301, abs=0.002)
    assert jitter == pytest.approx(0.002)
    assert period == pytest.approx(0.05, abs=0.002)
    assert steady.expected(0.40) is None  # overdue: no longer a prediction
    erratic = ArrivalPredictor()
    for t in (0.0, 0.01, 0.2, 0.21, 0.5, 0.9):
        erratic.add(t)
    assert erratic.expected(0.9) is None


def _controller() -> ChunkController:
    c = ChunkController(max_hold=0.010, min_rows=1, realtime_window=1.0, predict=True)
    c.observe("k", 10, 0.010)  # 1 ms a row
    for i in range(6):
        c.realtime_seen(i * 0.050)
    return c


def test_abortable_work_is_cut_to_end_before_the_next_request() -> None:
    c = _controller()
    plan = c.plan("k", 0.255, per_row_hint=None, abortable=True)
    assert plan.hold_until is None
    assert plan.rows == 44  # 300 ms due, 1 ms margin: more than max_hold allows, no abort
    late = c.plan("k", 0.2985, per_row_hint=None, abortable=True)
    assert late.rows == 0
    assert late.hold_until == pytest.approx(0.301)


def test_work_that_cannot_be_aborted_keeps_the_hold_bound() -> None:
    plan = _controller().plan("k", 0.255, per_row_hint=None, abortable=False)
    assert plan.rows == 10
    assert plan.hold_until is None


def test_no_holding_when_requests_come_too_often_for_any_chunk() -> None:
    c = ChunkController(max_hold=0.010, min_rows=1, realtime_window=1.0, predict=True)
    c.observe("k", 1, 0.004)
    for i in range(6):
        c.realtime_seen(i * 0.004)
    assert c.plan("k", 0.0205, per_row_hint=None, abortable=True).hold_until is None


def test_policy_keeps_the_slot_free_for_a_request_that_is_due() -> None:
    p = SchedulingPolicy(
        [ExecutorSlots("cpu:0")],
        PolicyConfig(default_batching=BatchingConfig(max_batch_size=64), max_hold=0.010),
    )
    now = 0.0
    p.submit(JobSpec(job_id="m", priority=Priority.BATCH, rows=10, batch_key="k"), now)
    [d] = p.schedule(now).dispatches
    p.on_complete(d.batch_id, 0.010)  # 1 ms a row
    for i in range(6):
        now = i * 0.050
        p.submit(JobSpec(job_id=f"r{i}", priority=Priority.REALTIME), now)
        [r] = p.schedule(now).dispatches
        p.on_complete(r.batch_id, now + 0.002)
    p.submit(
        JobSpec(job_id="big", priority=Priority.BATCH, rows=64, batch_key="k"),
        0.252,
        abortable=True,
        splittable=True,
    )
    [chunk] = p.schedule(0.252).dispatches
    assert chunk.rows == 47  # ends by 0.299, before the request due at 0.300
    p.on_complete(chunk.batch_id, 0.299)
    assert p.schedule(0.299).dispatches == []
    assert p.next_wakeup(0.299) == pytest.approx(0.301)
    p.submit(JobSpec(job_id="r6", priority=Priority.REALTIME), 0.300)
    decisions = p.schedule(0.300)
    assert decisions.aborts == []
    assert [d.job_ids for d in decisions.dispatches] == [("r6",)]


def test_without_a_hold_bound_work_is_never_cut() -> None:
    c = ChunkController(max_hold=None, min_rows=1, realtime_window=1.0, predict=False)
    c.realtime_seen(0.0)
    c.observe_aborted("k", 64)
    c.realtime_dispatched(0.5, 64)
    c.observe("k", 64, 0.064)
    assert c.plan("k", 0.1, per_row_hint=None, abortable=True).rows is None
    assert c.limit is None


def test_a_realtime_request_that_found_the_device_freed_by_an_abort_does_not_grow_chunks() -> None:
    c = ChunkController(max_hold=0.010, min_rows=1, realtime_window=1.0, predict=False)
    c.realtime_seen(0.0)
    c.observe_aborted("k", 8)  # not yet measured: halve to 4
    assert c.limit == 4
    c.realtime_dispatched(0.001, 8)  # a short wait, but only because the chunk was aborted
    assert c.limit == 4
    c.realtime_dispatched(0.001, 4)  # a short wait behind a chunk that ran: grow by one
    assert c.limit == 5


def test_three_aborts_in_a_row_protect_the_next_smallest_chunk_until_one_finishes() -> None:
    c = ChunkController(max_hold=0.010, min_rows=2, realtime_window=1.0, predict=False)
    c.realtime_seen(0.0)
    for _ in range(2):
        c.observe_aborted("k", 16)
        assert not c.plan("k", 0.01, per_row_hint=None, abortable=True).protected
    c.observe_aborted("k", 16)
    plan = c.plan("k", 0.01, per_row_hint=None, abortable=True)
    assert (plan.rows, plan.protected) == (2, True)
    assert not c.plan("other", 0.01, per_row_hint=None, abortable=True).protected
    c.observe("k", 2, 0.004)
    assert not c.plan("k", 0.01, per_row_hint=None, abortable=True).protected


def test_a_starving_key_with_a_predicted_gap_gets_a_protected_chunk_sized_to_the_gap() -> None:
    c = _controller()
    for _ in range(3):
        c.observe_aborted("k", 16)
    plan = c.plan("k", 0.255, per_row_hint=None, abortable=True)
    assert (plan.rows, plan.protected) == (44, True)  # ends before the request due at 0.300
    late = c.plan("k", 0.2985, per_row_hint=None, abortable=True)
    assert (late.rows, late.hold_until) == (0, pytest.approx(0.301))  # no gap: wait, not start
