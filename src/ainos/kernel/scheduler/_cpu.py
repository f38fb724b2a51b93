"""The CPU executor: worker threads per lane; background threads at a low OS priority."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from enum import StrEnum
from typing import TypeVar

from ainos.errors import SchedulerClosed

from ._config import ExecutorSlots
from ._decisions import Lane
from ._executor import BatchRun, RunReport
from ._os import apply_priority
from ._process import ProcessWorker
from ._token import RunAborted

__all__ = ["BackgroundPriority", "CallerRun", "CpuExecutor", "caller_runs", "current_lane"]

_log = logging.getLogger(__name__)
T = TypeVar("T")

_worker = threading.local()


def current_lane() -> Lane | None:
    """The lane of the executor worker thread calling this, None off a worker thread.

    Work uses it to compute on the calling thread when that thread runs at a low OS
    priority: engine threads it would start instead do not inherit the lowered priority.
    """
    lane: Lane | None = getattr(_worker, "lane", None)
    return lane


_Item = tuple[BatchRun, Callable[[RunReport], None]] | Callable[[], None] | None

_caller = threading.local()


class CallerRun:
    """At most one foreground batch that this thread's own submit dispatched, kept for the
    thread to run itself (:func:`caller_runs`)."""

    def __init__(self) -> None:
        self._held: tuple[CpuExecutor, BatchRun, Callable[[RunReport], None]] | None = None
        self._holding = True

    def hold(self, executor: CpuExecutor, run: BatchRun, done: Callable[[RunReport], None]) -> bool:
        # One batch, taken before run(): a second one (another length bucket) runs beside it
        # on a worker, and what the end of the run dispatches (it is reported on this
        # thread) goes to the workers, not to a thread that is about to wait.
        if not self._holding:
            return False
        self._held = (executor, run, done)
        self._holding = False
        return True

    def _take(self) -> tuple[CpuExecutor, BatchRun, Callable[[RunReport], None]] | None:
        """The held batch, if any; nothing more is held after it."""
        self._holding = False
        held, self._held = self._held, None
        return held

    def run(self) -> None:
        """Run the held batch here, if any; its report goes where a worker's would."""
        held = self._take()
        if held is None:
            return
        executor, run, done = held
        try:
            report = executor.run_here(run)
        except BaseException as error:  # e.g. Ctrl-C: the batch's other jobs must still end
            done(RunReport(run.dispatch.batch_id, None, error, 0.0))
            raise
        done(report)

    def release(self) -> None:
        """Hand a batch never run here to the executor's workers."""
        held = self._take()
        if held is not None:
            executor, run, done = held
            executor.submit(run, done)


@contextmanager
def caller_runs() -> Iterator[CallerRun]:
    """While inside, the first foreground batch a submit from this thread dispatches to a
    :class:`CpuExecutor` is held for this thread to run (``.run()``) instead of waking a
    worker: a client that would only wait for its result computes it itself, and a lone
    request costs no thread hand-off either way. On leaving, a batch not run is handed to
    the workers."""
    held = CallerRun()
    outer = getattr(_caller, "held", None)
    _caller.held = held
    try:
        yield held
    finally:
        _caller.held = outer
        held.release()


class BackgroundPriority(StrEnum):
    """What background (batch/idle) worker threads ask of the OS scheduler."""

    IDLE = "idle"  # SCHED_IDLE: runs only when nothing else wants the core
    NICE = "nice"  # nice 19 under the normal policy
    NORMAL = "normal"


class CpuExecutor:
    """Runs batches on worker threads of this process, or background ones in worker processes.

    Linux applies scheduling policy, nice value and affinity per thread, so each background
    thread lowers only itself. Engine threads it does not own (ONNX Runtime's intra-op pool)
    inherit the policy of the thread that creates them: create a background session with
    :meth:`call_in_lane`, or with one intra-op thread so it computes on the calling worker.

    With ``background_processes`` each background slot is a worker process that lowers
    itself as a whole (and holds no GIL the foreground needs); its work and inputs must
    pickle (:class:`OnnxRun` on an :class:`OnnxModelFile` does; on a live session it does
    not). :meth:`call_in_lane` then still runs in this process.
    """

    def __init__(
        self,
        name: str = "cpu:0",
        *,
        slots: int = 1,
        background_slots: int = 0,
        background_limit: int | None = None,
        background_priority: BackgroundPriority = BackgroundPriority.IDLE,
        background_processes: bool = False,
        affinity: Sequence[int] | None = None,
        background_affinity: Sequence[int] | None = None,
    ) -> None:
        self._slots = ExecutorSlots(name, slots, background_slots, background_limit)
        self._background_priority = background_priority
        self._processes = background_processes
        self._affinity = {Lane.FOREGROUND: affinity, Lane.BACKGROUND: background_affinity}
        self._queues: dict[Lane, queue.SimpleQueue[_Item]] = {
            Lane.FOREGROUND: queue.SimpleQueue(),
            Lane.BACKGROUND: queue.SimpleQueue(),
        }
        self._threads: list[tuple[threading.Thread, Lane]] = []
        self._notes: list[str] = []
        self._notes_lock = threading.Lock()
        self._started = threading.Event()
        self._ready = threading.Barrier(slots + background_slots + 1)

    @property
    def slots(self) -> ExecutorSlots:
        return self._slots

    @property
    def os_priority(self) -> str | None:
        return "; ".join(self._notes) or None

    def start(self) -> None:
        if self._started.is_set():
            return
        self._started.set()
        lanes = [Lane.FOREGROUND] * self._slots.slots
        lanes += [Lane.BACKGROUND] * self._slots.background_slots
        for i, lane in enumerate(lanes):
            thread = threading.Thread(
                target=self._work, args=(lane,), name=f"{self._slots.name}-{lane}-{i}", daemon=True
            )
            thread.start()
            self._threads.append((thread, lane))
        self._ready.wait()  # OS settings are applied (or refused) before the first batch

    def submit(self, run: BatchRun, done: Callable[[RunReport], None]) -> None:
        # Background work always runs on its low-priority workers; a foreground batch may be
        # run by the client thread whose submit dispatched it (caller_runs).
        held: CallerRun | None = getattr(_caller, "held", None)
        if run.dispatch.lane is Lane.FOREGROUND and held is not None and held.hold(self, run, done):
            return
        self._queues[run.dispatch.lane].put((run, done))

    def run_here(self, run: BatchRun) -> RunReport:
        """Run a foreground batch on the calling thread (see :func:`caller_runs`)."""
        return self._run(run, None)

    def call_in_lane(self, lane: Lane, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on a worker of ``lane`` (e.g. to create a session whose engine threads
        inherit the lane's OS priority). Do it before work is dispatched to that lane."""
        if not self._started.is_set():
            raise SchedulerClosed("the executor is not started")
        future: Future[T] = Future()

        def call() -> None:
            try:
                future.set_result(fn())
            except BaseException as error:  # handed to the caller
                future.set_exception(error)

        self._queues[lane].put(call)
        return future

    def shutdown(self) -> None:
        for _, lane in self._threads:
            self._queues[lane].put(None)
        for thread, _ in self._threads:
            thread.join()
        self._threads.clear()

    def _work(self, lane: Lane) -> None:
        _worker.lane = lane
        worker = None
        try:
            worker = self._configure(lane)
        finally:
            self._ready.wait()
        jobs = self._queues[lane]
        try:
            while (item := jobs.get()) is not None:
                if callable(item):
                    item()
                    continue
                run, done = item
                done(self._run(run, worker))
        finally:
            if worker is not None:
                worker.stop()

    @staticmethod
    def _run(run: BatchRun, worker: ProcessWorker | None) -> RunReport:
        batch_id = run.dispatch.batch_id
        if run.token.cancelled:  # batched but not started: skip it
            return RunReport(batch_id, None, RunAborted(str(run.token.reason)), 0.0)
        if worker is not None:
            return worker.run(run)
        start = time.monotonic()
        try:
            outputs = run.call(run.token)
        except Exception as error:
            return RunReport(batch_id, None, error, time.monotonic() - start)
        return RunReport(batch_id, outputs, None, time.monotonic() - start)

    def _configure(self, lane: Lane) -> ProcessWorker | None:
        """Apply affinity and, for background threads, the low priority (to this thread);
        or start this background slot's worker process, which lowers itself."""
        cpus = self._affinity[lane]
        if lane is Lane.BACKGROUND and self._processes:
            worker = ProcessWorker(
                f"{self._slots.name}-background", str(self._background_priority), cpus
            )
            try:
                worker.start()
            except Exception as error:
                self._note(f"background process not started ({error}); using threads", warn=True)
            else:
                self._note(worker.note or "", warn=not worker.granted)
                return worker
        if cpus is not None:
            try:
                os.sched_setaffinity(0, cpus)
            except OSError as error:
                self._note(f"{lane} affinity {list(cpus)} not applied: {error}", warn=True)
        if lane is Lane.BACKGROUND:
            note, applied = apply_priority(str(self._background_priority), "background threads")
            self._note(note, warn=not applied)
        return None

    def _note(self, text: str, *, warn: bool = False) -> None:
        with self._notes_lock:
            if text in self._notes:
                return
            self._notes.append(text)
        if warn:
            _log.warning("executor %s: %s", self._slots.name, text)
