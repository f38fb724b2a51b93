"""The CPU executor's lanes and what it asks of the OS."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from ainos.errors import JobFailed
from ainos.kernel.scheduler import (
    BackgroundPriority,
    CancelToken,
    CpuExecutor,
    Job,
    Lane,
    Scheduler,
    caller_runs,
    new_job_id,
)
from ainos.protocol.scheduler import JobSpec, Priority


def _on(executor: CpuExecutor, lane: Lane, fn: object) -> object:
    return executor.call_in_lane(lane, fn).result(10)  # type: ignore[arg-type]


def test_background_threads_run_at_sched_idle_or_say_why_not() -> None:
    executor = CpuExecutor(background_slots=1, background_priority=BackgroundPriority.IDLE)
    executor.start()
    try:
        policy = _on(executor, Lane.BACKGROUND, lambda: os.sched_getscheduler(0))
        foreground = _on(executor, Lane.FOREGROUND, lambda: os.sched_getscheduler(0))
        note = executor.os_priority or ""
        if policy == os.SCHED_IDLE:
            assert note == "background threads: idle"
        else:
            assert "not permitted" in note
        assert foreground == os.sched_getscheduler(0)  # only the background thread changed
    finally:
        executor.shutdown()


def test_background_threads_can_be_niced_instead() -> None:
    executor = CpuExecutor(background_slots=1, background_priority=BackgroundPriority.NICE)
    executor.start()
    try:
        nice = _on(
            executor,
            Lane.BACKGROUND,
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
        )
        assert nice == 19 or "not permitted" in (executor.os_priority or "")
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != 19
    finally:
        executor.shutdown()


def test_affinity_is_applied_per_lane() -> None:
    cpu = min(os.sched_getaffinity(0))
    executor = CpuExecutor(affinity=[cpu])
    executor.start()
    try:
        assert _on(executor, Lane.FOREGROUND, lambda: os.sched_getaffinity(0)) == {cpu}
        assert os.sched_getaffinity(0) != {cpu} or len(os.sched_getaffinity(0)) == 1
    finally:
        executor.shutdown()


def test_errors_raised_in_a_lane_call_reach_the_caller() -> None:
    executor = CpuExecutor()
    executor.start()
    try:

        def boom() -> None:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            _on(executor, Lane.FOREGROUND, boom)
    finally:
        executor.shutdown()


def _job(priority: Priority, work: Callable[[object, CancelToken], object]) -> Job[Any, Any]:
    return Job(spec=JobSpec(job_id=new_job_id(), priority=priority), work=work, inputs=None)


def _thread_of_run(_inputs: object, _token: CancelToken) -> int:
    return threading.get_ident()


def _scheduler(**slots: int) -> Scheduler:
    return Scheduler([CpuExecutor(**slots)]).start()


def test_a_client_runs_the_batch_its_own_submit_dispatched() -> None:
    with _scheduler() as scheduler:
        with caller_runs() as held:
            handle = scheduler.submit(_job(Priority.INTERACTIVE, _thread_of_run))
            assert not handle.done()  # held for this thread, no worker woken
            held.run()
            assert handle.result(10) == threading.get_ident()
        # Without it, a worker runs it.
        assert scheduler.submit(_job(Priority.INTERACTIVE, _thread_of_run)).result(10) != (
            threading.get_ident()
        )


def test_background_work_stays_on_its_low_priority_workers() -> None:
    with _scheduler(background_slots=1) as scheduler, caller_runs() as held:
        handle = scheduler.submit(_job(Priority.BATCH, _thread_of_run))
        held.run()
        assert handle.result(10) != threading.get_ident()


def test_a_batch_never_run_here_goes_to_the_workers_on_leaving() -> None:
    with _scheduler() as scheduler:
        with caller_runs():
            handle = scheduler.submit(_job(Priority.INTERACTIVE, _thread_of_run))
        assert handle.result(10) != threading.get_ident()


def test_an_interrupt_while_running_here_still_ends_the_batch() -> None:
    def interrupted(_inputs: object, _token: CancelToken) -> None:
        raise KeyboardInterrupt

    with _scheduler() as scheduler:
        with caller_runs() as held:
            handle = scheduler.submit(_job(Priority.INTERACTIVE, interrupted))
            with pytest.raises(KeyboardInterrupt):
                held.run()
        with pytest.raises(JobFailed, match="KeyboardInterrupt"):
            handle.result(10)  # answered, not left waiting
        assert scheduler.submit(_job(Priority.INTERACTIVE, lambda i, t: 7)).result(10) == 7


def test_what_the_run_here_dispatches_as_it_ends_goes_to_the_workers() -> None:
    gate = threading.Event()

    def first(_inputs: object, _token: CancelToken) -> int:
        gate.wait(10)
        return threading.get_ident()

    # One slot: the second job waits for the first to end.
    with _scheduler() as scheduler, caller_runs() as held:
        running = scheduler.submit(_job(Priority.INTERACTIVE, first))
        queued = scheduler.submit(_job(Priority.INTERACTIVE, _thread_of_run))
        gate.set()
        held.run()  # the first ends here, and its report dispatches the second
        assert running.result(10) == threading.get_ident()
        assert queued.result(10) != threading.get_ident()  # not held for a waiting thread
