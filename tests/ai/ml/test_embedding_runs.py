"""Which session a model's batch runs on: every core alone, one thread side by side."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ainos.ai.ml._embedding_runs import EmbeddingRun, RunLayout, run_layout
from ainos.kernel.scheduler import CancelToken, CpuExecutor, Lane, OnnxRun

FEEDS = {"input_ids": np.zeros((3, 8), dtype=np.int64)}


class RecordingSession:
    """Stands in for an ONNX Runtime session: records runs; may hold them until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runs = 0
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.release.set()

    def run(self, output_names: Sequence[str] | None, input_feed: Any, run_options: Any = None):
        self.runs += 1
        self.entered.release()
        assert self.release.wait(30)
        return [np.full((len(input_feed["input_ids"]), 2), len(self.name), dtype=np.float32)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(wide: RecordingSession, narrow: RecordingSession | None, clock: Clock):
    seen: list[tuple[int, bool]] = []
    run = EmbeddingRun(
        OnnxRun(wide),
        None if narrow is None else OnnxRun(narrow),
        lambda rows, side_by_side: seen.append((rows, side_by_side)),
        window=1.0,
        clock=clock,
    )
    return run, seen


def test_cpu_layout_has_a_slot_per_core_and_runs_side_by_side() -> None:
    assert run_layout(["CPUExecutionProvider"], 4) == RunLayout(4, 4, side_by_side=True)


def test_an_accelerator_or_a_single_core_runs_one_batch_at_a_time() -> None:
    assert run_layout(["CUDAExecutionProvider", "CPUExecutionProvider"], 8) == RunLayout(
        1, 1, side_by_side=False
    )
    assert run_layout(["CPUExecutionProvider"], 1) == RunLayout(1, 1, side_by_side=False)


def test_a_lone_run_uses_every_core() -> None:
    wide, narrow, clock = RecordingSession("wide"), RecordingSession("narrow"), Clock()
    run, seen = _run(wide, narrow, clock)
    for _ in range(3):
        run(FEEDS, CancelToken())
        clock.now += 0.01
    assert (wide.runs, narrow.runs) == (3, 0)
    assert seen == [(3, False)] * 3


def test_overlapping_runs_go_side_by_side_until_the_window_passes() -> None:
    wide, narrow, clock = RecordingSession("wide"), RecordingSession("narrow"), Clock()
    run, seen = _run(wide, narrow, clock)
    wide.release.clear()
    first = threading.Thread(target=run, args=(FEEDS, CancelToken()))
    first.start()
    assert wide.entered.acquire(timeout=30)  # the first run is alone: every core
    run(FEEDS, CancelToken())  # overlaps it: one thread
    assert narrow.runs == 1
    wide.release.set()
    first.join(30)
    clock.now += 0.5  # overlapped lately: still side by side
    run(FEEDS, CancelToken())
    assert narrow.runs == 2
    clock.now += 1.5  # no overlap within the window: alone again
    run(FEEDS, CancelToken())
    assert (wide.runs, narrow.runs) == (2, 2)
    assert [side for _, side in seen] == [False, True, True, False]


def test_background_runs_compute_on_their_low_priority_worker_thread() -> None:
    wide, narrow, clock = RecordingSession("wide"), RecordingSession("narrow"), Clock()
    run, _seen = _run(wide, narrow, clock)
    executor = CpuExecutor("test", slots=1, background_slots=1)
    executor.start()
    try:
        executor.call_in_lane(Lane.BACKGROUND, lambda: run(FEEDS, CancelToken())).result(30)
        assert (wide.runs, narrow.runs) == (0, 1)
        executor.call_in_lane(Lane.FOREGROUND, lambda: run(FEEDS, CancelToken())).result(30)
        assert (wide.runs, narrow.runs) == (1, 1)
    finally:
        executor.shutdown()


def test_without_a_narrow_session_every_run_is_wide() -> None:
    wide, clock = RecordingSession("wide"), Clock()
    run, seen = _run(wide, None, clock)
    executor = CpuExecutor("test", slots=1, background_slots=1)
    executor.start()
    try:
        executor.call_in_lane(Lane.BACKGROUND, lambda: run(FEEDS, CancelToken())).result(30)
    finally:
        executor.shutdown()
    run(FEEDS, CancelToken())
    assert wide.runs == 2
    assert seen == [(3, False), (3, False)]
