"""Properties of the pure policy under random interleavings of clients' and executors' events."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ainos.errors import DeadlineExceeded, QueueFull
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

MAX_BATCH = 4
BOUND = 6
EXECUTORS = [
    ExecutorSlots("cpu:0", slots=1, background_slots=1),
    ExecutorSlots("gpu:0", slots=2),
]
BACKGROUND = {Priority.BATCH, Priority.IDLE}


@dataclass
class _Job:
    spec: JobSpec
    splittable: bool
    deadline: float | None
    next_row: int = 0
    in_flight: int | None = None
    pieces: list[tuple[int, int]] = field(default_factory=list)


class PolicyMachine(RuleBasedStateMachine):
    discipline = Discipline.PRIORITY

    def __init__(self) -> None:
        super().__init__()
        config = PolicyConfig(
            discipline=self.discipline,
            max_queued=dict.fromkeys(Priority, BOUND),
            aging_interval=None,  # aging is the one licensed exception to strict priority
            default_batching=BatchingConfig(max_batch_size=MAX_BATCH, max_queue_delay=0.002),
            max_hold=0.005,
            realtime_window=0.05,
        )
        self.policy = SchedulingPolicy(EXECUTORS, config)
        self.now = 0.0
        self.ids = 0
        self.live: dict[str, _Job] = {}
        self.runs: dict[int, Dispatch] = {}
        self.aborting: set[int] = set()
        self.outcome: dict[str, str] = {}
        self.completed: dict[str, _Job] = {}

    # -- clients ----------------------------------------------------------------------------

    @rule(
        priority=st.sampled_from(list(Priority)),
        client=st.sampled_from(["a", "b", "c"]),
        rows=st.integers(1, 6),
        key=st.sampled_from([None, "k1", "k2"]),
        deadline_ms=st.one_of(st.none(), st.floats(1, 60)),
        device=st.sampled_from(["cpu:0", "gpu:0"]),
        splittable=st.booleans(),
        abortable=st.booleans(),
    )
    def submit(
        self,
        priority: Priority,
        client: str,
        rows: int,
        key: str | None,
        deadline_ms: float | None,
        device: str,
        splittable: bool,
        abortable: bool,
    ) -> None:
        self.ids += 1
        spec = JobSpec(
            job_id=f"j{self.ids}",
            priority=priority,
            client=ClientIdentity(name=client),
            rows=rows,
            batch_key=key,
            deadline_ms=deadline_ms,
            device=device,
        )
        waiting = sum(
            1 for j in self.live.values() if j.spec.priority is priority and j.in_flight is None
        )
        try:
            self.policy.submit(spec, self.now, abortable=abortable, splittable=splittable)
        except QueueFull:
            assert waiting >= BOUND
            self.outcome[spec.job_id] = "rejected"
            return
        assert waiting < BOUND
        deadline = None if deadline_ms is None else self.now + deadline_ms / 1000
        self.live[spec.job_id] = _Job(spec, splittable, deadline)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.ids:
            return
        job_id = f"j{data.draw(st.integers(1, self.ids))}"
        job = self.live.pop(job_id, None)
        outcome = self.policy.cancel(job_id, self.now)
        if job is None:
            assert outcome.stage == "unknown"
            return
        self.outcome[job_id] = "cancelled"
        if job.in_flight is None:
            assert outcome.stage == "queued"
            assert outcome.abort is None
            return
        assert outcome.stage == "running"
        others = any(j.in_flight == job.in_flight for j in self.live.values())
        expect_abort = not others and job.in_flight not in self.aborting
        assert (outcome.abort is not None) == expect_abort
        if outcome.abort is not None:
            assert outcome.abort.batch_id == job.in_flight
            self.aborting.add(job.in_flight)

    @rule(dt=st.floats(0, 0.02))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule()
    def sleep_until_wakeup(self) -> None:
        """What the runtime does: sleep until the policy's next timer, exactly."""
        wake = self.policy.next_wakeup(self.now)
        deadlines = [j.deadline for j in self.live.values() if j.deadline is not None]
        if deadlines:
            assert wake is not None
            assert wake <= min(deadlines)
        if wake is not None:
            self.now = max(self.now, wake)

    # -- the policy's decision --------------------------------------------------------------

    @rule()
    def schedule(self) -> None:
        decisions = self.policy.schedule(self.now)
        for failure in decisions.failures:
            job = self.live.pop(failure.job_id)
            assert isinstance(failure.error, DeadlineExceeded)
            assert job.deadline is not None
            assert job.deadline <= self.now
            self.outcome[failure.job_id] = "expired"
        assert all(j.deadline is None or j.deadline > self.now for j in self.live.values())
        for abort in decisions.aborts:
            run = self.runs[abort.batch_id]
            assert abort.batch_id not in self.aborting, "asked to abort a run twice"
            self.aborting.add(abort.batch_id)
            if abort.reason is AbortReason.PREEMPTED:
                assert run.preemptible
                assert run.priority is not Priority.REALTIME
                assert run.lane is Lane.FOREGROUND
            else:
                assert not any(j.in_flight == abort.batch_id for j in self.live.values())
        for dispatch in decisions.dispatches:
            self._check_dispatch(dispatch)
        for dispatch in decisions.dispatches:
            self._check_priority(dispatch)

    def _check_dispatch(self, d: Dispatch) -> None:
        assert d.batch_id not in self.runs
        ids = d.job_ids
        assert len(set(ids)) == len(ids), "a job twice in one batch"
        if len(ids) > 1:
            assert d.batch_key is not None
        for piece in d.slices:
            job = self.live[piece.job_id]
            assert job.in_flight is None, "a job in two runs at once"
            assert job.spec.device == d.executor
            assert job.spec.batch_key == d.batch_key
            assert piece.start == job.next_row
            assert piece.stop <= job.spec.rows
            assert job.splittable or piece.whole
            job.in_flight = d.batch_id
        one_whole = len(d.slices) == 1 and not self.live[ids[0]].splittable
        assert one_whole or d.rows <= MAX_BATCH
        if d.lane is Lane.BACKGROUND:
            assert all(self.live[i].spec.priority in BACKGROUND for i in ids)
        elif d.executor == "cpu:0":
            assert not any(self.live[i].spec.priority in BACKGROUND for i in ids)
        self.runs[d.batch_id] = d
        slots = next(e for e in EXECUTORS if e.name == d.executor)
        busy = sum(1 for r in self.runs.values() if (r.executor, r.lane) == (d.executor, d.lane))
        assert busy <= (slots.slots if d.lane is Lane.FOREGROUND else slots.background_slots)

    def _check_priority(self, d: Dispatch) -> None:
        """One class per run, and no job its lane could have taken left waiting above it."""
        ranks = {self.live[i].spec.priority.rank for i in d.job_ids}
        assert len(ranks) == 1, "classes mixed in one batch"
        rank = ranks.pop()
        for job in self.live.values():
            if job.in_flight is not None or job.spec.device != d.executor:
                continue
            if d.executor == "cpu:0" and (job.spec.priority in BACKGROUND) != (
                d.lane is Lane.BACKGROUND
            ):
                continue
            assert job.spec.priority.rank >= rank, f"{d.job_ids} jumped {job.spec.job_id}"

    # -- executors' reports -----------------------------------------------------------------

    def _pick_run(self, data: st.DataObject) -> Dispatch:
        return self.runs.pop(data.draw(st.sampled_from(sorted(self.runs))))

    def _members(self, d: Dispatch) -> list[tuple[str, _Job]]:
        return [
            (s.job_id, self.live[s.job_id])
            for s in d.slices
            if s.job_id in self.live and self.live[s.job_id].in_flight == d.batch_id
        ]

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), took=st.floats(0, 0.02))
    def complete(self, data: st.DataObject, took: float) -> None:
        d = self._pick_run(data)
        self.aborting.discard(d.batch_id)
        self.now += took
        expected = []
        members = dict(self._members(d))
        for piece in d.slices:
            job = members.get(piece.job_id)
            if job is None:
                continue
            job.in_flight = None
            job.pieces.append((piece.start, piece.stop))
            job.next_row = piece.stop
            if job.next_row == job.spec.rows:
                expected.append(piece.job_id)
        done = self.policy.on_complete(d.batch_id, self.now, took)
        assert sorted(done) == sorted(expected)
        for job_id in done:
            assert job_id not in self.outcome, "finished twice"
            self.outcome[job_id] = "completed"
            self.completed[job_id] = self.live.pop(job_id)

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        d = self._pick_run(data)
        self.aborting.discard(d.batch_id)
        expected = [job_id for job_id, _ in self._members(d)]
        assert sorted(self.policy.on_failed(d.batch_id, self.now)) == sorted(expected)
        for job_id in expected:
            self.outcome[job_id] = "failed"
            del self.live[job_id]

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def abort(self, data: st.DataObject) -> None:
        d = self._pick_run(data)
        self.aborting.discard(d.batch_id)
        members = self._members(d)
        assert sorted(self.policy.on_aborted(d.batch_id, self.now)) == sorted(
            job_id for job_id, _ in members
        )
        for _, job in members:
            job.in_flight = None  # its rows were not done: they run again, later

    # -- what must always hold --------------------------------------------------------------

    @invariant()
    def every_job_is_accounted_for_once(self) -> None:
        assert len(self.policy) == len(self.live)
        assert not set(self.live) & set(self.outcome)
        assert len(self.live) + len(self.outcome) == self.ids
        for job_id, job in self.live.items():
            expect = JobState.QUEUED if job.in_flight is None else JobState.RUNNING
            assert self.policy.state(job_id) is expect
        for job_id in self.outcome:
            assert self.policy.state(job_id) is None

    @invariant()
    def completed_jobs_ran_each_row_exactly_once(self) -> None:
        for job in self.completed.values():
            starts = [a for a, _ in job.pieces]
            stops = [b for _, b in job.pieces]
            assert starts[0] == 0
            assert stops[-1] == job.spec.rows
            assert starts[1:] == stops[:-1]

    @invariant()
    def stats_agree(self) -> None:
        stats = self.policy.stats(self.now)
        classes = stats.classes.values()
        assert sum(c.completed_total for c in classes) == len(self.completed)
        assert sum(c.rejected_total for c in classes) == list(self.outcome.values()).count(
            "rejected"
        )
        assert stats.queued + stats.running == len(self.live)


TestPolicyMachine = PolicyMachine.TestCase
TestPolicyMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


class FifoMachine(PolicyMachine):
    """The same books under FIFO; what changes is the order: the oldest waiting job first."""

    discipline = Discipline.FIFO

    def _check_priority(self, d: Dispatch) -> None:
        head = min(int(i[1:]) for i in d.job_ids)
        for job in self.live.values():
            if job.in_flight is not None or job.spec.device != d.executor:
                continue
            if d.executor == "cpu:0" and (job.spec.priority in BACKGROUND) != (
                d.lane is Lane.BACKGROUND
            ):
                continue
            assert int(job.spec.job_id[1:]) > head, f"{d.job_ids} jumped {job.spec.job_id}"


TestFifoMachine = FifoMachine.TestCase
TestFifoMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


@settings(max_examples=100, deadline=None)
@given(
    costs_a=st.lists(st.floats(0.5, 5), min_size=20, max_size=40),
    costs_b=st.lists(st.floats(0.5, 5), min_size=20, max_size=40),
    weight_a=st.sampled_from([1.0, 2.0, 4.0]),
)
def test_fair_share_within_a_class_while_both_are_backlogged(
    costs_a: list[float], costs_b: list[float], weight_a: float
) -> None:
    """Start-time fair queueing's bound: normalised service never differs by more than one
    job's normalised cost on each side, however much one client floods."""
    p = SchedulingPolicy([ExecutorSlots("cpu:0")], PolicyConfig(aging_interval=None))
    p.set_weight("a", weight_a)
    costs = {}
    for name, client_costs in (("a", costs_a), ("b", costs_b)):
        for i, cost in enumerate(client_costs):
            job_id = f"{name}{i}"
            costs[job_id] = cost
            p.submit(
                JobSpec(
                    job_id=job_id,
                    priority=Priority.BATCH,
                    client=ClientIdentity(name=name),
                    estimated_cost_ms=cost,
                ),
                0.0,
            )
    served = {"a": 0.0, "b": 0.0}
    left = {"a": len(costs_a), "b": len(costs_b)}
    weights = {"a": weight_a, "b": 1.0}
    bound = max(costs_a) / weight_a + max(costs_b)
    now = 0.0
    while left["a"] and left["b"]:
        [d] = p.schedule(now).dispatches
        [job_id] = d.job_ids
        client = job_id[0]
        served[client] += costs[job_id]
        left[client] -= 1
        now += 0.001
        p.on_complete(d.batch_id, now)
        gap = served["a"] / weights["a"] - served["b"] / weights["b"]
        assert math.fabs(gap) <= bound + 1e-9
