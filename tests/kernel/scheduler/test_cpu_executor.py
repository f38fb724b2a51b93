"""The CPU executor's lanes and what it asks of the OS."""

from __future__ import annotations

import os
import threading

import pytest

from ainos.kernel.scheduler import BackgroundPriority, CpuExecutor, Lane


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
