"""The scheduler runtime: drives the policy, hands batches to executors, resolves handles.

A thread, not an asyncio loop: executors block in native code (ONNX Runtime) and need
threads anyway, and callers are both synchronous (CLI, embedded use) and asynchronous
(``await handle`` wraps the future). Decisions are made right where events happen (submit,
cancel, a run ending) under one lock, so a realtime request goes to a worker without a
thread hop; the driver thread only wakes for timers (deadlines, batching delays, caps).
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

from ainos.errors import (
    AinosError,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    SchedulerClosed,
    SchedulerError,
)
from ainos.protocol.scheduler import GpuUtilLimit, JobState, Priority, SchedulerStats

from ._config import PolicyConfig
from ._decisions import Dispatch
from ._executor import BatchRun, Executor, RunReport
from ._policy import FreeMemory, SchedulingPolicy
from ._token import AbortReason, CancelToken
from ._work import Job, Work

__all__ = ["JobHandle", "Scheduler"]

O = TypeVar("O")  # noqa: E741 - outputs


class JobHandle(Generic[O]):
    """The caller's side of one job: wait for it (``result()`` or ``await``), or cancel it."""

    def __init__(self, job_id: str, future: Future[O], scheduler: Scheduler) -> None:
        self.job_id = job_id
        self.future = future
        self._scheduler = scheduler

    def result(self, timeout: float | None = None) -> O:
        return self.future.result(timeout)

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> bool:
        """Cancel the job at whatever stage it is; False if it had already finished."""
        return self._scheduler.cancel(self.job_id)

    def __await__(self) -> Generator[Any, None, O]:
        return asyncio.wrap_future(self.future).__await__()


@dataclass(eq=False)
class _Live:
    job: Job[Any, Any]
    future: Future[Any]
    parts: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class _Run:
    dispatch: Dispatch
    token: CancelToken
    members: list[_Live]


_Resolution = tuple[Future[Any], Any, BaseException | None]


class Scheduler:
    """Runs jobs on executors under a :class:`SchedulingPolicy`; a context manager."""

    def __init__(
        self,
        executors: Sequence[Executor],
        config: PolicyConfig | None = None,
        *,
        free_memory: FreeMemory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executors = {e.slots.name: e for e in executors}
        self._policy = SchedulingPolicy(
            [e.slots for e in executors], config, free_memory=free_memory
        )
        self._clock = clock
        self._lock = threading.Condition()
        self._live: dict[str, _Live] = {}
        self._runs: dict[int, _Run] = {}
        self._closed = False
        self._thread: threading.Thread | None = None
        self._driver_wake = -math.inf  # when the sleeping driver thread will wake by itself

    @property
    def policy(self) -> SchedulingPolicy:
        """The policy; read it only while no other thread uses the scheduler (tests, stats)."""
        return self._policy

    def start(self) -> Scheduler:
        with self._lock:
            if self._closed:
                raise SchedulerClosed("the scheduler was closed")
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._drive, name="ainos-scheduler", daemon=True)
        for executor in self._executors.values():
            executor.start()
        self._thread.start()
        return self

    def close(self) -> None:
        """Cancel every unfinished job, stop the driver, and shut the executors down."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            now = self._clock()
            resolutions: list[_Resolution] = []
            for job_id, live in list(self._live.items()):
                self._policy.cancel(job_id, now)
                resolutions.append((live.future, None, JobCancelled("the scheduler shut down")))
            self._live.clear()
            for run in self._runs.values():
                run.token.cancel(AbortReason.SHUTDOWN)
            self._lock.notify_all()
            thread = self._thread
        self._settle(resolutions)
        if thread is not None:
            thread.join()
            for executor in self._executors.values():
                executor.shutdown()

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_executor(self, executor: Executor) -> None:
        """Start a new executor and let jobs target it (``JobSpec.device`` = its name)."""
        with self._lock:
            if self._closed:
                raise SchedulerClosed("the scheduler was closed")
            self._policy.add_executor(executor.slots)
            self._executors[executor.slots.name] = executor
            started = self._thread is not None
        if started:
            executor.start()

    def remove_executor(self, name: str) -> None:
        """Shut an executor down once no job runs on it or waits for it."""
        with self._lock:
            self._policy.remove_executor(name)
            executor = self._executors.pop(name)
        executor.shutdown()

    # -- clients ----------------------------------------------------------------------------

    def submit(self, job: Job[Any, O]) -> JobHandle[O]:
        """Admit a job (or raise ``QueueFull``, ``InvalidArgument``, ``NotFound``)."""
        spec = job.spec
        if job.batching is not None:
            try:
                rows = job.batching.rows(job.inputs)
            except (ValueError, TypeError, KeyError) as error:
                raise InvalidArgument(f"job {spec.job_id}: {error}") from error
            if rows < 1:
                raise InvalidArgument(f"job {spec.job_id} has no rows to run")
            if rows != spec.rows:
                spec = spec.model_copy(update={"rows": rows})
        elif spec.batch_key is not None:
            raise SchedulerError(f"job {spec.job_id} has a batch key but no way to merge inputs")
        future: Future[O] = Future()
        future.set_running_or_notify_cancel()  # only the scheduler resolves it
        with self._lock:
            if self._closed or self._thread is None:
                raise SchedulerClosed("the scheduler is not running")
            self._policy.submit(
                spec,
                self._clock(),
                abortable=job.abortable,
                splittable=job.batching is not None,
            )
            self._live[spec.job_id] = _Live(job, future)
            resolutions = self._pump()
        self._settle(resolutions)
        return JobHandle(spec.job_id, future, self)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            outcome = self._policy.cancel(job_id, self._clock())
            live = self._live.pop(job_id, None)
            if outcome.stage == "unknown" or live is None:
                return False
            if outcome.abort is not None:
                self._runs[outcome.abort.batch_id].token.cancel(outcome.abort.reason)
            resolutions = self._pump()
        resolutions.append((live.future, None, JobCancelled(f"job {job_id} was cancelled")))
        self._settle(resolutions)
        return True

    def state(self, job_id: str) -> JobState | None:
        with self._lock:
            return self._policy.state(job_id)

    def queue_position(self, job_id: str) -> int | None:
        with self._lock:
            return self._policy.queue_position(job_id)

    def set_gpu_util(
        self, target: str | Priority, fraction: float | None, device: str | None = None
    ) -> None:
        with self._lock:
            self._policy.set_gpu_util(target, fraction, device)
            self._lock.notify_all()

    def set_gpu_util_limit(self, limit: GpuUtilLimit) -> None:
        """``set_gpu_util`` from its control-plane record."""
        self.set_gpu_util(limit.target, limit.fraction, limit.device)

    def set_weight(self, client: str, weight: float) -> None:
        with self._lock:
            self._policy.set_weight(client, weight)

    def stats(self) -> SchedulerStats:
        with self._lock:
            stats = self._policy.stats(self._clock())
        executors = [
            e.model_copy(update={"os_priority": self._executors[e.name].os_priority})
            for e in stats.executors
        ]
        return stats.model_copy(update={"executors": executors})

    # -- inside -----------------------------------------------------------------------------

    def _drive(self) -> None:
        """Wake for timers; everything else is decided where it happens."""
        with self._lock:
            while not self._closed:
                resolutions = self._pump()
                if resolutions:
                    self._lock.release()
                    try:
                        self._settle(resolutions)
                    finally:
                        self._lock.acquire()
                    continue
                wake = self._policy.next_wakeup(self._clock())
                self._driver_wake = math.inf if wake is None else wake
                self._lock.wait(None if wake is None else max(0.0, wake - self._clock()))
                self._driver_wake = -math.inf  # awake: pumps need not wake it

    def _pump(self) -> list[_Resolution]:
        """Ask the policy what to do and do it (lock held); returns futures to resolve."""
        decisions = self._policy.schedule(self._clock())
        resolutions: list[_Resolution] = []
        for failure in decisions.failures:
            live = self._live.pop(failure.job_id, None)
            if live is not None:
                resolutions.append((live.future, None, failure.error))
        for abort in decisions.aborts:
            self._runs[abort.batch_id].token.cancel(abort.reason)
        for dispatch in decisions.dispatches:
            run = _Run(dispatch, CancelToken(), [self._live[s.job_id] for s in dispatch.slices])
            self._runs[dispatch.batch_id] = run
            self._executors[dispatch.executor].submit(
                BatchRun(
                    dispatch,
                    run.token,
                    functools.partial(_prepare, run),
                    functools.partial(_finish, run),
                ),
                self._report,
            )
        # The driver only keeps timers (deadlines, held batches, utilisation caps): wake it
        # when one now falls before its planned wake, never for every decision. A wake per
        # decision put a third thread on the cores in the middle of each run, and a run
        # spread over every core waits for its slowest thread.
        wake = self._policy.next_wakeup(self._clock())
        if wake is not None and wake < self._driver_wake:
            self._lock.notify_all()
        return resolutions

    def _report(self, report: RunReport) -> None:
        """A run ended (called on an executor's thread)."""
        with self._lock:
            run = self._runs.pop(report.batch_id)
            now = self._clock()
            resolutions: list[_Resolution] = []
            outputs = report.outputs
            error = report.error
            if error is None and (outputs is None or len(outputs) != len(run.dispatch.slices)):
                error = SchedulerError(f"batch {report.batch_id}: work returned a wrong shape")
            if error is None and outputs is not None:
                done = self._policy.on_complete(report.batch_id, now, report.run_time)
                for piece, live, output in zip(
                    run.dispatch.slices, run.members, outputs, strict=True
                ):
                    if self._live.get(piece.job_id) is live:
                        live.parts.append(output)
                resolutions.extend(_finished(self._live.pop(job_id)) for job_id in done)
            elif run.token.cancelled:
                self._policy.on_aborted(report.batch_id, now, report.run_time)
            else:
                for job_id in self._policy.on_failed(report.batch_id, now, report.run_time):
                    failure = _failure(job_id, error or SchedulerError("the run failed"))
                    resolutions.append((self._live.pop(job_id).future, None, failure))
            if not self._closed:
                resolutions += self._pump()
        self._settle(resolutions)

    @staticmethod
    def _settle(resolutions: list[_Resolution]) -> None:
        """Resolve futures outside the lock: their callbacks may call back into us."""
        for future, value, error in resolutions:
            if future.done():
                continue
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)


def _prepare(run: _Run) -> tuple[Work[Any, Any], object]:
    """On a worker: the head job's work and the slices' inputs, merged."""
    head = run.members[0].job
    batching = head.batching
    slices = run.dispatch.slices
    if batching is None or (len(slices) == 1 and slices[0].whole):
        return head.work, head.inputs
    parts = [
        live.job.inputs if piece.whole else batching.take(live.job.inputs, piece.start, piece.stop)
        for piece, live in zip(slices, run.members, strict=True)
    ]
    return head.work, batching.merge(parts)


def _finish(run: _Run, outputs: object) -> list[object]:
    """On a worker: the work's outputs split back into one per slice."""
    batching = run.members[0].job.batching
    slices = run.dispatch.slices
    if batching is None or len(slices) == 1:
        return [outputs]
    return cast(list[object], batching.split(outputs, [s.size for s in slices]))


def _finished(live: _Live) -> _Resolution:
    batching = live.job.batching
    try:
        value = (
            live.parts[0] if len(live.parts) == 1 or batching is None else batching.join(live.parts)
        )
    except Exception as error:
        return live.future, None, _failure(live.job.spec.job_id, error)
    return live.future, value, None


def _failure(job_id: str, error: BaseException) -> BaseException:
    if isinstance(error, AinosError):
        return error
    failed = JobFailed(f"job {job_id} failed: {type(error).__name__}: {error}")
    failed.__cause__ = error
    return failed
