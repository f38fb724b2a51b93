"""The runtime with real threads and real ONNX Runtime sessions. No timing is asserted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from ainos.errors import (
    DeadlineExceeded,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    QueueFull,
    SchedulerClosed,
)
from ainos.kernel.scheduler import (
    ArrayBatching,
    BatchingConfig,
    BatchRun,
    CancelToken,
    CpuExecutor,
    ExecutorSlots,
    Job,
    OnnxRun,
    PolicyConfig,
    RunAborted,
    RunReport,
    Scheduler,
    new_job_id,
)
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority

Arrays = list[np.ndarray[Any, Any]]


def spec(priority: Priority = Priority.INTERACTIVE, **fields: Any) -> JobSpec:
    return JobSpec(job_id=new_job_id(), priority=priority, **fields)


class Recorder:
    """Wraps work: counts calls and how each ended; can signal when a run starts."""

    def __init__(self, inner: Callable[[Any, CancelToken], Any]) -> None:
        self.inner = inner
        self.abortable = True
        self.calls: list[str] = []
        self.started = threading.Event()

    def __call__(self, inputs: Any, token: CancelToken) -> Any:
        self.started.set()
        try:
            out = self.inner(inputs, token)
        except RunAborted:
            self.calls.append("aborted")
            raise
        self.calls.append("done")
        return out


class Gate:
    """Work that holds its slot until opened: lets jobs pile up behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def __call__(self, inputs: object, token: CancelToken) -> str:
        self.entered.set()
        self.opened.wait(10)
        return "gate"


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    config = PolicyConfig(default_batching=BatchingConfig(max_batch_size=16, max_queue_delay=0))
    with Scheduler([CpuExecutor()], config) as running:
        yield running


def test_batched_results_equal_unbatched_ones(
    scheduler: Scheduler, small_session: Any, small_feeds: Any
) -> None:
    gate = Gate()
    blocker = scheduler.submit(Job(spec=spec(), work=gate, inputs=None))
    assert gate.entered.wait(10)
    run = OnnxRun(small_session)
    inputs = [small_feeds(rows, seed) for seed, rows in enumerate([1, 3, 2, 5, 1])]
    handles = [scheduler.submit(run.job(spec(batch_key="mlp"), x)) for x in inputs]
    gate.opened.set()
    assert blocker.result(10) == "gate"
    for x, handle in zip(inputs, handles, strict=True):
        [out] = handle.result(10)
        [expected] = small_session.run(None, x)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    sizes = scheduler.stats().classes[Priority.INTERACTIVE].batch_sizes
    assert sizes.get(12) == 1  # the five piled-up jobs ran as one batch of 12 rows


def test_work_cut_into_chunks_joins_back_in_order(small_session: Any, small_feeds: Any) -> None:
    config = PolicyConfig(default_batching=BatchingConfig(max_batch_size=8))
    with Scheduler([CpuExecutor()], config) as scheduler:
        x = small_feeds(21, seed=3)
        [out] = scheduler.submit(OnnxRun(small_session).job(spec(batch_key="k"), x)).result(10)
        assert scheduler.stats().classes[Priority.INTERACTIVE].batch_sizes == {8: 2, 5: 1}
    np.testing.assert_allclose(out, small_session.run(None, x)[0], rtol=1e-5, atol=1e-5)


def test_realtime_aborts_running_batch_work_which_still_delivers_one_correct_result(
    scheduler: Scheduler, heavy_session: Any, heavy_feeds: Any, small_session: Any
) -> None:
    batch_work = Recorder(OnnxRun(heavy_session))
    x = heavy_feeds(256)
    batch = scheduler.submit(
        Job(spec=spec(Priority.BATCH), work=batch_work, inputs=x, abortable=True)
    )
    deliveries: list[object] = []
    batch.future.add_done_callback(deliveries.append)
    assert batch_work.started.wait(10)
    realtime = scheduler.submit(
        OnnxRun(small_session).job(spec(Priority.REALTIME), {"x": np.ones((1, 8, 64), np.float32)})
    )
    realtime.result(10)
    [out] = batch.result(30)
    assert batch_work.calls[0] == "aborted"  # terminated by RunOptions.terminate, in flight
    assert batch_work.calls[-1] == "done"
    assert len(deliveries) == 1
    np.testing.assert_allclose(out, heavy_session.run(None, x)[0], rtol=1e-4, atol=1e-4)
    stats = scheduler.stats()
    assert stats.preemptions_total >= 1
    assert stats.classes[Priority.BATCH].aborted_total >= 1
    assert stats.classes[Priority.BATCH].completed_total == 1


def test_a_deadline_aborts_a_running_inference_and_the_session_stays_usable(
    scheduler: Scheduler, heavy_session: Any, heavy_feeds: Any
) -> None:
    work = Recorder(OnnxRun(heavy_session))
    x = heavy_feeds(256, seed=1)
    handle = scheduler.submit(
        Job(spec=spec(Priority.REALTIME, deadline_ms=60), work=work, inputs=x, abortable=True)
    )
    with pytest.raises(DeadlineExceeded, match="deadline"):
        handle.result(30)
    assert work.started.wait(10)
    # The one slot runs this only once the aborted run has let go of it.
    scheduler.submit(Job(spec=spec(), work=lambda i, t: i, inputs=None)).result(30)
    assert work.calls == ["aborted"]
    [again] = OnnxRun(heavy_session)(heavy_feeds(2, seed=1), CancelToken())
    np.testing.assert_allclose(again, heavy_session.run(None, heavy_feeds(2, seed=1))[0])
    assert scheduler.stats().classes[Priority.REALTIME].deadline_misses_total == 1


def test_cancel_a_queued_job(scheduler: Scheduler) -> None:
    gate = Gate()
    scheduler.submit(Job(spec=spec(), work=gate, inputs=None))
    assert gate.entered.wait(10)
    ran = Recorder(lambda inputs, token: inputs)
    queued = scheduler.submit(Job(spec=spec(), work=ran, inputs=1))
    assert queued.cancel()
    assert not queued.cancel()  # once
    gate.opened.set()
    with pytest.raises(JobCancelled):
        queued.result(10)
    after = scheduler.submit(Job(spec=spec(), work=lambda i, t: i, inputs=2))
    assert after.result(10) == 2
    assert ran.calls == []


def test_cancel_a_running_job_trips_its_token(scheduler: Scheduler) -> None:
    seen = threading.Event()

    def cooperative(inputs: object, token: CancelToken) -> None:
        started.set()
        token.on_cancel(seen.set)
        seen.wait(10)
        token.raise_if_cancelled()

    started = threading.Event()
    handle = scheduler.submit(Job(spec=spec(), work=cooperative, inputs=None))
    assert started.wait(10)
    assert handle.cancel()
    with pytest.raises(JobCancelled):
        handle.result(10)
    assert seen.is_set()
    assert scheduler.submit(Job(spec=spec(), work=lambda i, t: "next", inputs=None)).result(10)


class HoldingExecutor:
    """A second implementation of the Executor interface: keeps batches until told to run."""

    def __init__(self) -> None:
        self.held: list[tuple[BatchRun, Callable[[RunReport], None]]] = []
        self._slots = ExecutorSlots("cpu:0")

    @property
    def slots(self) -> ExecutorSlots:
        return self._slots

    @property
    def os_priority(self) -> str | None:
        return None

    def start(self) -> None:
        pass

    def submit(self, run: BatchRun, done: Callable[[RunReport], None]) -> None:
        self.held.append((run, done))

    def run_all(self) -> None:
        while self.held:
            run, done = self.held.pop(0)
            if run.token.cancelled:
                done(RunReport(run.dispatch.batch_id, None, RunAborted("cancelled"), 0.0))
            else:
                done(RunReport(run.dispatch.batch_id, run.call(run.token), None, 0.001))

    def shutdown(self) -> None:
        pass


def test_cancel_a_job_batched_but_not_started() -> None:
    executor = HoldingExecutor()
    with Scheduler([executor]) as scheduler:
        ran = Recorder(lambda inputs, token: inputs)
        handle = scheduler.submit(Job(spec=spec(), work=ran, inputs=1))
        assert len(executor.held) == 1
        assert handle.cancel()
        executor.run_all()
        with pytest.raises(JobCancelled):
            handle.result(10)
        assert ran.calls == []
        second = scheduler.submit(Job(spec=spec(), work=ran, inputs=2))
        executor.run_all()
        assert second.result(10) == 2


def test_failures_reach_the_caller_with_their_cause(scheduler: Scheduler) -> None:
    def broken(inputs: object, token: CancelToken) -> None:
        raise ValueError("bad input")

    handle = scheduler.submit(Job(spec=spec(), work=broken, inputs=None))
    with pytest.raises(JobFailed, match="bad input") as caught:
        handle.result(10)
    assert isinstance(caught.value.__cause__, ValueError)
    assert scheduler.stats().classes[Priority.INTERACTIVE].failed_total == 1


def test_admission_control_rejects_at_the_bound() -> None:
    config = PolicyConfig(max_queued=dict.fromkeys(Priority, 1))
    with Scheduler([CpuExecutor()], config) as scheduler:
        gate = Gate()
        scheduler.submit(Job(spec=spec(), work=gate, inputs=None))
        assert gate.entered.wait(10)
        scheduler.submit(Job(spec=spec(), work=lambda i, t: i, inputs=1))
        with pytest.raises(QueueFull):
            scheduler.submit(Job(spec=spec(), work=lambda i, t: i, inputs=2))
        gate.opened.set()


def test_close_cancels_what_is_left_and_refuses_more() -> None:
    scheduler = Scheduler([CpuExecutor()]).start()
    gate = Gate()
    running = scheduler.submit(Job(spec=spec(), work=gate, inputs=None))
    assert gate.entered.wait(10)
    queued = scheduler.submit(
        Job(spec=spec(client=ClientIdentity(pid=1)), work=lambda i, t: i, inputs=1)
    )
    gate.opened.set()
    scheduler.close()
    for handle in (running, queued):
        assert handle.done()
    with pytest.raises(JobCancelled):
        queued.result(0)
    with pytest.raises(SchedulerClosed):
        scheduler.submit(Job(spec=spec(), work=lambda i, t: i, inputs=1))


async def _await(handle: Any) -> Any:
    return await handle


def test_handles_can_be_awaited(scheduler: Scheduler) -> None:
    import asyncio

    handle = scheduler.submit(Job(spec=spec(), work=lambda i, t: i * 2, inputs=21))
    assert asyncio.run(_await(handle)) == 42


def test_inputs_that_disagree_on_rows_are_refused(scheduler: Scheduler) -> None:
    bad = {"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}
    with pytest.raises(InvalidArgument, match="batch size"):
        scheduler.submit(
            Job(spec=spec(batch_key="k"), work=lambda i, t: i, inputs=bad, batching=ArrayBatching())
        )


def test_a_batch_held_for_returning_clients_on_an_idle_executor_still_runs() -> None:
    """Four clients served in one run; only one comes back. Its job is held for the others
    (nothing is running), and the driver must still wake to run it after the delay."""
    config = PolicyConfig(default_batching=BatchingConfig(max_batch_size=16, max_queue_delay=0.05))
    gate = Gate()
    with Scheduler([CpuExecutor()], config) as scheduler:
        blocker = scheduler.submit(Job(spec=spec(), work=gate, inputs=None))
        assert gate.entered.wait(10)
        batching = ArrayBatching()
        first = [
            scheduler.submit(
                Job(
                    spec=spec(client=ClientIdentity(name=f"c{i}"), batch_key="k"),
                    work=lambda feeds, _t: [feeds["x"] * 2],
                    inputs={"x": np.full((1, 2), i, dtype=np.float32)},
                    batching=batching,
                )
            )
            for i in range(4)
        ]
        gate.opened.set()
        assert blocker.result(10) == "gate"
        assert [h.result(10)[0][0, 0] for h in first] == [0, 2, 4, 6]  # one merged run
        again = scheduler.submit(
            Job(
                spec=spec(client=ClientIdentity(name="c0"), batch_key="k"),
                work=lambda feeds, _t: [feeds["x"] * 2],
                inputs={"x": np.full((1, 2), 5, dtype=np.float32)},
                batching=batching,
            )
        )
        assert again.result(10)[0][0, 0] == 10
