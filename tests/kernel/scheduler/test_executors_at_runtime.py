"""Executors added and removed while the scheduler runs; a queued job's place in line."""

from __future__ import annotations

import threading

import pytest

from ainos.errors import InvalidArgument, NotFound
from ainos.kernel.scheduler import (
    CancelToken,
    CpuExecutor,
    ExecutorSlots,
    Job,
    Scheduler,
    SchedulingPolicy,
    new_job_id,
)
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority


def _spec(job_id: str, priority: Priority, device: str = "engine") -> JobSpec:
    return JobSpec(job_id=job_id, priority=priority, client=ClientIdentity(name="c"), device=device)


def test_policy_places_queued_jobs_by_class_then_arrival() -> None:
    policy = SchedulingPolicy([ExecutorSlots("cpu:0")])
    policy.add_executor(ExecutorSlots("engine", slots=1))
    for job_id, priority in [
        ("running", Priority.BATCH),
        ("batch", Priority.BATCH),
        ("interactive", Priority.INTERACTIVE),
        ("realtime", Priority.REALTIME),
    ]:
        policy.submit(_spec(job_id, priority), 0.0)
        if job_id == "running":
            policy.schedule(0.0)
    assert policy.queue_position("running") is None  # it runs
    assert policy.queue_position("realtime") == 1
    assert policy.queue_position("interactive") == 2
    assert policy.queue_position("batch") == 3
    assert policy.queue_position("unknown") is None


def test_policy_refuses_duplicate_and_busy_executors() -> None:
    policy = SchedulingPolicy([ExecutorSlots("cpu:0")])
    policy.add_executor(ExecutorSlots("engine"))
    with pytest.raises(InvalidArgument):
        policy.add_executor(ExecutorSlots("engine"))
    policy.submit(_spec("queued", Priority.BATCH), 0.0)
    with pytest.raises(InvalidArgument):
        policy.remove_executor("engine")  # a job waits for it
    policy.cancel("queued", 0.0)
    policy.remove_executor("engine")
    with pytest.raises(NotFound):
        policy.remove_executor("engine")
    with pytest.raises(NotFound):
        policy.submit(_spec("orphan", Priority.BATCH), 0.0)


def test_scheduler_runs_jobs_on_an_executor_added_while_running() -> None:
    release = threading.Event()

    def hold(inputs: int, token: CancelToken) -> int:
        release.wait(30)
        return inputs * 2

    with Scheduler([CpuExecutor()]).start() as scheduler:
        scheduler.add_executor(CpuExecutor("engine", slots=1))
        first = scheduler.submit(Job(spec=_spec(new_job_id(), Priority.BATCH), work=hold, inputs=1))
        waiting = scheduler.submit(
            Job(spec=_spec(new_job_id(), Priority.BATCH), work=hold, inputs=2)
        )
        assert scheduler.queue_position(waiting.job_id) == 1  # behind the first
        release.set()
        assert first.result(30) == 2
        assert waiting.result(30) == 4
        scheduler.remove_executor("engine")
        with pytest.raises(NotFound):
            scheduler.submit(Job(spec=_spec(new_job_id(), Priority.BATCH), work=hold, inputs=3))


def test_background_limit_keeps_slots_from_batch_work() -> None:
    policy = SchedulingPolicy([ExecutorSlots("engine", slots=3, background_limit=2)])
    for index in range(4):
        policy.submit(_spec(f"batch{index}", Priority.BATCH), 0.0)
    running = [job for d in policy.schedule(0.0).dispatches for job in d.job_ids]
    assert running == ["batch0", "batch1"]  # the third slot stays free of batch work
    policy.submit(_spec("interactive", Priority.INTERACTIVE), 0.0)
    (dispatch,) = policy.schedule(0.0).dispatches
    assert dispatch.job_ids == ("interactive",)
    with pytest.raises(InvalidArgument):
        ExecutorSlots("bad", slots=2, background_limit=3)
    with pytest.raises(InvalidArgument):
        ExecutorSlots("bad", slots=2, background_slots=1, background_limit=1)
