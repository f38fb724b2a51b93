"""The pure policy, driven with a fake clock: one behaviour per test."""

from __future__ import annotations

import pytest

from ainos.errors import DeadlineExceeded, InvalidArgument, NotFound, QueueFull
from ainos.kernel.scheduler import (
    AbortReason,
    BatchingConfig,
    Discipline,
    Dispatch,
    ExecutorSlots,
    Lane,
    PolicyConfig,
    SchedulingPolicy,
)
from ainos.protocol.scheduler import ClientIdentity, JobSpec, JobState, Priority

RT, INTER, BATCH, IDLE = Priority.REALTIME, Priority.INTERACTIVE, Priority.BATCH, Priority.IDLE


def spec(
    job_id: str,
    priority: Priority = INTER,
    *,
    client: str = "c",
    rows: int = 1,
    key: str | None = None,
    deadline_ms: float | None = None,
    cost_ms: float | None = None,
    memory: int = 0,
    model: str | None = None,
) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        priority=priority,
        client=ClientIdentity(name=client),
        rows=rows,
        batch_key=key,
        deadline_ms=deadline_ms,
        estimated_cost_ms=cost_ms,
        memory_bytes=memory,
        model=model,
    )


def policy(**config: object) -> SchedulingPolicy:
    slots = config.pop("slots", 1)
    background = config.pop("background_slots", 0)
    free = config.pop("free_memory", None)
    return SchedulingPolicy(
        [ExecutorSlots("cpu:0", slots=slots, background_slots=background)],  # type: ignore[arg-type]
        PolicyConfig(**config),  # type: ignore[arg-type]
        free_memory=free,  # type: ignore[arg-type]
    )


def drain(p: SchedulingPolicy, now: float = 0.0, step: float = 0.001) -> list[str]:
    """Run everything one dispatch at a time; the order in which jobs were dispatched."""
    order: list[str] = []
    while True:
        dispatches = p.schedule(now).dispatches
        if not dispatches:
            return order
        for d in dispatches:
            order += list(d.job_ids)
            now += step
            p.on_complete(d.batch_id, now)


def only(dispatches: list[Dispatch]) -> Dispatch:
    assert len(dispatches) == 1, dispatches
    return dispatches[0]


def test_strict_priority_between_classes() -> None:
    p = policy()
    for name, prio in [("i", IDLE), ("b", BATCH), ("n", INTER), ("r", RT)]:
        p.submit(spec(name, prio), 0.0)
    assert drain(p) == ["r", "n", "b", "i"]


def test_earliest_deadline_first_among_realtime() -> None:
    p = policy()
    p.submit(spec("late", RT, deadline_ms=500), 0.0)
    p.submit(spec("none", RT), 0.0)
    p.submit(spec("soon", RT, deadline_ms=100), 0.0)
    p.submit(spec("mid", RT, deadline_ms=300), 0.0)
    assert drain(p) == ["soon", "mid", "late", "none"]


def test_a_flooding_client_does_not_starve_another_of_its_class() -> None:
    p = policy()
    for i in range(10):
        p.submit(spec(f"a{i}", BATCH, client="flood"), 0.0)
    for i in range(3):
        p.submit(spec(f"b{i}", BATCH, client="polite"), 0.0)
    order = drain(p)
    assert [j for j in order[:6] if j.startswith("b")] == ["b0", "b1", "b2"]


def test_weights_share_a_class_in_proportion() -> None:
    p = policy()
    p.set_weight("heavy", 3.0)
    for i in range(12):
        p.submit(spec(f"h{i}", BATCH, client="heavy"), 0.0)
        p.submit(spec(f"l{i}", BATCH, client="light"), 0.0)
    first = drain(p)[:8]
    assert sum(j.startswith("h") for j in first) == 6


def test_a_client_returning_from_idle_gets_no_banked_credit() -> None:
    p = policy()
    p.submit(spec("old0", BATCH, client="old"), 0.0)
    drain(p)
    for i in range(6):
        p.submit(spec(f"new{i}", BATCH, client="busy"), 1.0)
    drain(p, now=1.0)
    for i in range(4):
        p.submit(spec(f"busy{i}", BATCH, client="busy"), 2.0)
        p.submit(spec(f"old{i + 1}", BATCH, client="old"), 2.0)
    order = drain(p, now=2.0)
    assert sum(j.startswith("old") for j in order[:4]) == 2  # alternates, no burst


def test_expired_queued_job_is_failed_not_run() -> None:
    p = policy()
    p.submit(spec("blocker", BATCH), 0.0)
    blocker = only(p.schedule(0.0).dispatches)
    p.submit(spec("r", RT, deadline_ms=10), 0.0)
    assert p.schedule(0.005).dispatches == []
    assert p.next_wakeup(0.005) == pytest.approx(0.010)
    decisions = p.schedule(0.011)
    assert [f.job_id for f in decisions.failures] == ["r"]
    assert isinstance(decisions.failures[0].error, DeadlineExceeded)
    p.on_complete(blocker.batch_id, 0.02)
    assert p.schedule(0.02).dispatches == []
    assert p.stats(0.02).classes[RT].deadline_misses_total == 1


def test_deadline_of_a_running_job_aborts_its_run() -> None:
    p = policy()
    p.submit(spec("r", RT, deadline_ms=10), 0.0)
    run = only(p.schedule(0.0).dispatches)
    decisions = p.schedule(0.02)
    assert [f.job_id for f in decisions.failures] == ["r"]
    assert [(a.batch_id, a.reason) for a in decisions.aborts] == [
        (run.batch_id, AbortReason.DEADLINE)
    ]
    assert p.on_aborted(run.batch_id, 0.021) == []
    assert len(p) == 0


def test_fifo_runs_in_arrival_order_whatever_the_class() -> None:
    p = policy(discipline=Discipline.FIFO)
    for name, prio in [("i", IDLE), ("b", BATCH), ("r", RT), ("n", INTER)]:
        p.submit(spec(name, prio), 0.0)
    assert drain(p) == ["i", "b", "r", "n"]


def test_batching_merges_one_key_up_to_max_batch_size() -> None:
    p = policy(default_batching=BatchingConfig(max_batch_size=4))
    for i in range(10):
        p.submit(spec(f"k{i}", key="k"), 0.0)
    p.submit(spec("other", key="other"), 0.0)
    sizes = []
    now = 0.0
    while dispatches := p.schedule(now).dispatches:
        d = only(dispatches)
        sizes.append((d.batch_key, d.rows))
        now += 0.01
        p.on_complete(d.batch_id, now)
    assert sizes == [("k", 4), ("k", 4), ("k", 2), ("other", 1)]


def test_batching_is_configured_per_model() -> None:
    p = policy(batching={"small": BatchingConfig(max_batch_size=2)})
    for i in range(3):
        p.submit(spec(f"s{i}", key="s", model="small"), 0.0)
    assert only(p.schedule(0.0).dispatches).rows == 2


def test_lone_request_runs_at_once_on_an_idle_executor() -> None:
    p = policy(default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=1.0))
    p.submit(spec("lone", key="k"), 0.0)
    assert only(p.schedule(0.0).dispatches).job_ids == ("lone",)


def test_partial_batch_waits_at_most_the_queue_delay_while_the_executor_is_busy() -> None:
    p = policy(slots=2, default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0.002))
    p.submit(spec("busy", key="x"), 0.0)
    only(p.schedule(0.0).dispatches)
    p.submit(spec("a", key="k"), 0.0)
    assert p.schedule(0.0005).dispatches == []
    assert p.next_wakeup(0.0005) == pytest.approx(0.002)
    p.submit(spec("b", key="k"), 0.001)
    assert p.schedule(0.001).dispatches == []
    assert only(p.schedule(0.002).dispatches).job_ids == ("a", "b")


def test_realtime_is_never_held_to_fill_a_batch() -> None:
    p = policy(slots=2, default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=1.0))
    p.submit(spec("busy", key="x"), 0.0)
    only(p.schedule(0.0).dispatches)
    p.submit(spec("r", RT, key="k"), 0.0)
    assert only(p.schedule(0.0).dispatches).job_ids == ("r",)


def test_other_classes_never_ride_along_in_a_batch() -> None:
    p = policy()
    p.submit(spec("b", BATCH, key="k"), 0.0)
    p.submit(spec("r", RT, key="k"), 0.0)
    assert only(p.schedule(0.0).dispatches).job_ids == ("r",)


def test_work_is_cut_into_chunks_while_realtime_clients_are_active() -> None:
    p = policy(max_hold=0.010, default_batching=BatchingConfig(max_batch_size=64))
    p.submit(spec("big", BATCH, rows=64, key="k"), 0.0, splittable=True)
    whole = only(p.schedule(0.0).dispatches)
    assert whole.rows == 64  # nobody to make way for
    p.on_complete(whole.batch_id, 0.064)  # 1 ms per row, measured
    p.submit(spec("r", RT), 0.1)
    p.on_complete(only(p.schedule(0.1).dispatches).batch_id, 0.102)
    p.submit(spec("big2", BATCH, rows=64, key="k"), 0.102, splittable=True)
    cuts, now = [], 0.102
    while dispatches := p.schedule(now).dispatches:
        piece = only(dispatches).slices[0]
        cuts.append((piece.start, piece.stop))
        now += piece.size * 0.001
        assert p.on_complete(dispatches[0].batch_id, now) == ([] if piece.stop < 64 else ["big2"])
    assert cuts[0] == (0, 10)
    assert [c[0] for c in cuts[1:]] == [c[1] for c in cuts[:-1]]  # contiguous, none twice
    assert cuts[-1][1] == 64


def test_realtime_preempts_abortable_work_which_is_requeued_intact() -> None:
    p = policy(max_hold=None)
    p.submit(spec("big", BATCH, rows=8, key="k"), 0.0, abortable=True, splittable=True)
    run = only(p.schedule(0.0).dispatches)
    assert run.preemptible
    p.submit(spec("r", RT), 0.001)
    decisions = p.schedule(0.001)
    assert decisions.dispatches == []
    assert [(a.batch_id, a.reason) for a in decisions.aborts] == [
        (run.batch_id, AbortReason.PREEMPTED)
    ]
    assert p.schedule(0.0015).aborts == []  # asked once
    assert p.on_aborted(run.batch_id, 0.002) == ["big"]
    assert only(p.schedule(0.002).dispatches).job_ids == ("r",)
    assert p.state("big") is JobState.QUEUED
    stats = p.stats(0.002)
    assert stats.preemptions_total == 1
    assert stats.classes[BATCH].aborted_total == 1


def test_work_aborted_again_and_again_gets_a_chunk_that_runs_to_the_end() -> None:
    # Realtime requests that leave no gap a chunk fits in: every chunk is aborted, so without
    # protection the batch job would never advance (aging cannot help: realtime still wins).
    p = policy(predict_realtime=False)
    p.submit(spec("big", BATCH, rows=64, key="k"), 0.0, abortable=True, splittable=True)
    now, protected = 0.0, None
    for i in range(6):
        run = only(p.schedule(now).dispatches)
        if not run.preemptible:
            protected = (i, run.rows)
            break
        p.submit(spec(f"r{i}", RT), now + 0.001)
        [abort] = p.schedule(now + 0.001).aborts
        assert p.on_aborted(abort.batch_id, now + 0.002) == ["big"]
        realtime = only(p.schedule(now + 0.002).dispatches)
        p.on_complete(realtime.batch_id, now + 0.004)
        now += 0.004
    assert protected == (3, 1)  # after three aborts in a row: one row, not preemptible
    p.submit(spec("r-late", RT), now + 0.001)
    assert p.schedule(now + 0.001).aborts == []  # the protected chunk is waited for
    assert p.on_complete(run.batch_id, now + 0.003) == []
    assert only(p.schedule(now + 0.003).dispatches).job_ids == ("r-late",)


def test_work_that_cannot_be_aborted_is_waited_for() -> None:
    p = policy()
    p.submit(spec("b", BATCH), 0.0)
    run = only(p.schedule(0.0).dispatches)
    assert not run.preemptible
    p.submit(spec("r", RT), 0.001)
    assert not p.schedule(0.001)
    p.on_complete(run.batch_id, 0.05)
    assert only(p.schedule(0.05).dispatches).job_ids == ("r",)


def test_chunk_bound_halves_when_realtime_waited_too_long() -> None:
    p = policy(max_hold=0.005, default_batching=BatchingConfig(max_batch_size=64))
    p.submit(spec("r0", RT), 0.0)
    p.on_complete(only(p.schedule(0.0).dispatches).batch_id, 0.001)
    p.submit(spec("big", BATCH, rows=64, key="k"), 0.001, splittable=True)
    run = only(p.schedule(0.001).dispatches)
    assert run.rows == 64  # time per row not known yet
    p.submit(spec("r1", RT), 0.002)
    p.schedule(0.002)
    p.on_complete(run.batch_id, 0.065)
    only(p.schedule(0.065).dispatches)  # r1 waited 63 ms
    assert p.stats(0.065).executors[0].chunk_rows == 32


def test_queues_are_bounded_per_class() -> None:
    p = policy(max_queued={RT: 1, INTER: 2, BATCH: 2, IDLE: 2})
    p.submit(spec("r0", RT), 0.0)
    with pytest.raises(QueueFull, match="realtime"):
        p.submit(spec("r1", RT), 0.0)
    p.submit(spec("b0", BATCH), 0.0)  # other classes are not affected
    assert p.stats(0.0).classes[RT].rejected_total == 1


def test_memory_headroom_is_checked_before_dispatch() -> None:
    free = {"cpu:0": 100}
    p = policy(free_memory=lambda device: free[device])
    p.submit(spec("huge", INTER, memory=200), 0.0)
    p.submit(spec("small", BATCH, memory=50), 0.0)
    assert only(p.schedule(0.0).dispatches).job_ids == ("small",)
    p.on_complete(1, 0.01)
    assert p.schedule(0.01).dispatches == []
    free["cpu:0"] = 500
    assert only(p.schedule(0.02).dispatches).job_ids == ("huge",)


def test_utilisation_cap_holds_a_client_back_over_the_window() -> None:
    p = policy(util_window=1.0)
    p.set_gpu_util("hog", 0.5)
    for i in range(3):
        p.submit(spec(f"hog{i}", BATCH, client="hog"), 0.0)
    run = only(p.schedule(0.0).dispatches)
    p.on_complete(run.batch_id, 0.6)  # 60 % of the window
    assert p.schedule(0.6).dispatches == []
    assert p.next_wakeup(0.6) is not None
    p.submit(spec("other", BATCH, client="other"), 0.6)
    assert only(p.schedule(0.6).dispatches).job_ids == ("other",)
    p.on_complete(2, 0.61)
    assert only(p.schedule(1.2).dispatches).job_ids == ("hog1",)  # back under the cap


def test_utilisation_cap_per_class() -> None:
    p = policy(util_window=1.0)
    p.set_gpu_util(IDLE, 0.1)
    p.submit(spec("i0", IDLE), 0.0)
    p.submit(spec("i1", IDLE), 0.0)
    p.on_complete(only(p.schedule(0.0).dispatches).batch_id, 0.2)
    assert p.schedule(0.2).dispatches == []
    p.set_gpu_util(IDLE, None)
    assert only(p.schedule(0.2).dispatches).job_ids == ("i1",)


def test_aging_lifts_a_waiting_batch_job_over_new_interactive_work() -> None:
    p = policy(aging_interval=1.0)
    p.submit(spec("old", BATCH), 0.0)
    p.submit(spec("n0", INTER), 0.0)
    first = only(p.schedule(0.0).dispatches)
    assert first.job_ids == ("n0",)
    p.submit(spec("n1", INTER), 1.0)
    p.on_complete(first.batch_id, 1.5)
    assert only(p.schedule(1.5).dispatches).job_ids == ("old",)


def test_without_aging_strict_priority_holds() -> None:
    p = policy(aging_interval=None)
    p.submit(spec("old", BATCH), 0.0)
    p.submit(spec("n0", INTER), 100.0)
    assert only(p.schedule(100.0).dispatches).job_ids == ("n0",)


def test_cancel_at_each_stage() -> None:
    p = policy()
    p.submit(spec("queued"), 0.0)
    p.submit(spec("running", RT), 0.0)
    run = only(p.schedule(0.0).dispatches)
    assert p.cancel("queued", 0.0).stage == "queued"
    outcome = p.cancel("running", 0.0)
    assert outcome.stage == "running"
    assert outcome.abort is not None
    assert outcome.abort.batch_id == run.batch_id
    assert outcome.abort.reason is AbortReason.CANCELLED
    assert p.cancel("running", 0.0).stage == "unknown"
    assert p.on_complete(run.batch_id, 0.01) == []  # its result goes nowhere
    assert len(p) == 0


def test_cancelling_one_job_of_a_batch_leaves_the_run_going() -> None:
    p = policy()
    p.submit(spec("a", key="k"), 0.0)
    p.submit(spec("b", key="k"), 0.0)
    run = only(p.schedule(0.0).dispatches)
    assert p.cancel("a", 0.0).abort is None
    assert p.on_complete(run.batch_id, 0.01) == ["b"]


def test_failed_run_fails_its_jobs() -> None:
    p = policy()
    p.submit(spec("a", key="k"), 0.0)
    p.submit(spec("b", key="k"), 0.0)
    run = only(p.schedule(0.0).dispatches)
    assert sorted(p.on_failed(run.batch_id, 0.01)) == ["a", "b"]
    assert p.stats(0.01).classes[INTER].failed_total == 2


def test_background_slots_take_batch_work_and_leave_realtime_the_foreground() -> None:
    p = policy(background_slots=1)
    p.submit(spec("b", BATCH), 0.0, abortable=True)
    p.submit(spec("b2", BATCH), 0.0, abortable=True)
    [background] = p.schedule(0.0).dispatches
    assert background.lane is Lane.BACKGROUND
    p.submit(spec("r", RT), 0.001)
    decisions = p.schedule(0.001)
    assert decisions.aborts == []  # the OS, not an abort, makes way
    assert only(decisions.dispatches).lane is Lane.FOREGROUND


def test_submission_errors() -> None:
    p = policy()
    p.submit(spec("a"), 0.0)
    with pytest.raises(InvalidArgument):
        p.submit(spec("a"), 0.0)
    with pytest.raises(NotFound):
        p.submit(spec("b").model_copy(update={"device": "gpu:7"}), 0.0)
    with pytest.raises(InvalidArgument):
        p.on_complete(999, 0.0)
    with pytest.raises(InvalidArgument):
        p.set_gpu_util("x", 1.5)


def test_a_batch_carrying_realtime_work_counts_as_realtime() -> None:
    p = policy(aging_interval=1.0)
    p.submit(spec("blocker"), 0.0)
    blocker = only(p.schedule(0.0).dispatches)
    p.submit(spec("old", BATCH, key="k"), 0.0, abortable=True)
    p.submit(spec("r1", RT, key="k"), 2.5, abortable=True)
    p.on_complete(blocker.batch_id, 2.5)
    merged = only(p.schedule(2.5).dispatches)
    assert merged.job_ids == ("old", "r1")  # aged twice: as urgent as realtime, and older
    assert merged.priority is RT
    assert not merged.preemptible
    p.submit(spec("r2", RT), 2.6, abortable=True)
    assert p.schedule(2.6).aborts == []


def test_clients_served_together_are_batched_together_again() -> None:
    """A closed loop: the clients of a finished run come back one by one; on an idle executor
    the first is held briefly for the others instead of running alone."""
    p = policy(default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0.002))
    for i in range(4):
        p.submit(spec(f"a{i}", client=f"c{i}", key="k"), 0.0)
    first = only(p.schedule(0.0).dispatches)
    assert first.rows == 4
    p.on_complete(first.batch_id, 0.010)
    p.submit(spec("b0", client="c0", key="k"), 0.0101)
    assert p.schedule(0.0101).dispatches == []  # the other three are on their way
    for i in range(1, 4):
        p.submit(spec(f"b{i}", client=f"c{i}", key="k"), 0.0103)
    assert only(p.schedule(0.0103).dispatches).rows == 4


def test_a_held_batch_goes_when_the_others_do_not_come_back() -> None:
    p = policy(default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0.002))
    for i in range(4):
        p.submit(spec(f"a{i}", client=f"c{i}", key="k"), 0.0)
    p.on_complete(only(p.schedule(0.0).dispatches).batch_id, 0.010)
    p.submit(spec("b0", client="c0", key="k"), 0.0101)
    assert p.schedule(0.0101).dispatches == []
    assert only(p.schedule(0.0122).dispatches).rows == 1  # max_queue_delay later


def test_a_lone_client_is_never_held_on_an_idle_executor() -> None:
    p = policy(default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0.002))
    p.submit(spec("a", key="k"), 0.0)
    p.on_complete(only(p.schedule(0.0).dispatches).batch_id, 0.010)
    p.submit(spec("b", key="k"), 0.0101)
    assert only(p.schedule(0.0101).dispatches).rows == 1


def test_free_slots_share_the_waiting_jobs_out_and_run_side_by_side() -> None:
    p = policy(slots=2, default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0.002))
    for i in range(5):
        p.submit(spec(f"a{i}", client=f"c{i}", key="k"), 0.0)
    first, second = p.schedule(0.0).dispatches  # the rest is not held for the first
    assert (first.rows, second.rows) == (3, 2)
    assert set(first.job_ids) | set(second.job_ids) == {f"a{i}" for i in range(5)}


def _one_slot_running_key_k(rows: int) -> tuple[SchedulingPolicy, Dispatch]:
    """Two slots; key k learned at 10 ms a row; one slot runs ``rows`` jobs of k from
    t=0.010 and the other a job of another key, returned for the test to end."""
    p = policy(slots=2, default_batching=BatchingConfig(max_batch_size=8, max_queue_delay=0))
    p.submit(spec("k0", key="k"), 0.0)
    p.submit(spec("o0", client="other", key="o"), 0.0)
    warm, other = p.schedule(0.0).dispatches
    p.on_complete(warm.batch_id, 0.010, run_time=0.010)
    for i in range(rows):
        p.submit(spec(f"a{i}", client=f"c{i}", key="k"), 0.010)
    assert only(p.schedule(0.010).dispatches).rows == rows
    return p, other


@pytest.mark.parametrize(
    ("running", "queued", "taken"),
    [
        # The busy slot has 30 ms (3 rows) to go: taking all six would make one long run
        # while it frees up with nothing to do; (6 + 3) / 2 rounds up to 5.
        (4, 6, 5),
        # It has 70 ms to go, longer than the four queued rows take here: all are taken.
        (8, 4, 4),
    ],
)
def test_a_free_slot_leaves_rows_for_a_slot_about_to_be_free(
    running: int, queued: int, taken: int
) -> None:
    p, other = _one_slot_running_key_k(running)
    for i in range(queued):
        p.submit(spec(f"b{i}", client=f"d{i}", key="k"), 0.020)
    p.on_complete(other.batch_id, 0.020, run_time=0.020)
    assert only(p.schedule(0.020).dispatches).rows == taken


def test_sharing_out_never_cuts_a_job() -> None:
    p = policy(slots=2)
    p.submit(spec("big", rows=6, key="k"), 0.0, splittable=True)
    p.submit(spec("small", client="other", rows=1, key="k"), 0.0, splittable=True)
    first, second = p.schedule(0.0).dispatches
    assert [(s.job_id, s.size) for s in first.slices] == [("big", 6)]
    assert [(s.job_id, s.size) for s in second.slices] == [("small", 1)]
