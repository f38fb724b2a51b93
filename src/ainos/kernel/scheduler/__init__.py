"""The GPU-aware AI scheduler: priority classes, deadlines, fair sharing, dynamic batching.

:class:`SchedulingPolicy` decides: a plain synchronous object with no threads, no I/O and
the clock passed in (``submit``, ``schedule(now)``, ``on_complete``/``on_failed``/
``on_aborted``, ``cancel``). :class:`Scheduler` runs it and hands the batches it decides on
to one :class:`Executor` per device (:class:`CpuExecutor`: worker threads, background ones
at a low OS priority), resolving a :class:`JobHandle` per job exactly once.

A client submits a :class:`Job`: a :class:`JobSpec` record (class, deadline, client, device,
cost, batch key), the work (``work(inputs, token) -> outputs``) and, for work that can be
merged with other jobs' or cut into chunks, a :class:`Batching` (:class:`ArrayBatching` for
ONNX-style feeds). :class:`OnnxRun` makes an ONNX Runtime session such work, abortable
through ``RunOptions.terminate``.
"""

# Names are imported on first use: its Prometheus families serve commands that never run a
# job (``ainos stats``), without numpy, asyncio and the executors.
from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.kernel.scheduler._config import (
        BatchingConfig,
        Discipline,
        ExecutorSlots,
        PolicyConfig,
    )
    from ainos.kernel.scheduler._cpu import (
        BackgroundPriority,
        CallerRun,
        CpuExecutor,
        caller_runs,
        current_lane,
    )
    from ainos.kernel.scheduler._decisions import (
        Abort,
        CancelOutcome,
        Decisions,
        Dispatch,
        Failure,
        Lane,
        Slice,
    )
    from ainos.kernel.scheduler._executor import BatchRun, Executor, RunReport
    from ainos.kernel.scheduler._onnx import OnnxModelFile, OnnxRun, SessionLike, session_options
    from ainos.kernel.scheduler._policy import FreeMemory, SchedulingPolicy
    from ainos.kernel.scheduler._prometheus import render_prometheus, scheduler_families
    from ainos.kernel.scheduler._runtime import JobHandle, Scheduler
    from ainos.kernel.scheduler._token import AbortReason, CancelToken, RunAborted
    from ainos.kernel.scheduler._work import ArrayBatching, Batching, Feeds, Job, Work, new_job_id

_EXPORTS = {
    "Abort": "_decisions",
    "AbortReason": "_token",
    "ArrayBatching": "_work",
    "BackgroundPriority": "_cpu",
    "BatchRun": "_executor",
    "Batching": "_work",
    "BatchingConfig": "_config",
    "CancelOutcome": "_decisions",
    "CancelToken": "_token",
    "CallerRun": "_cpu",
    "CpuExecutor": "_cpu",
    "Decisions": "_decisions",
    "Discipline": "_config",
    "Dispatch": "_decisions",
    "Executor": "_executor",
    "ExecutorSlots": "_config",
    "Failure": "_decisions",
    "Feeds": "_work",
    "FreeMemory": "_policy",
    "Job": "_work",
    "JobHandle": "_runtime",
    "Lane": "_decisions",
    "OnnxModelFile": "_onnx",
    "OnnxRun": "_onnx",
    "PolicyConfig": "_config",
    "RunAborted": "_token",
    "RunReport": "_executor",
    "Scheduler": "_runtime",
    "SchedulingPolicy": "_policy",
    "SessionLike": "_onnx",
    "Slice": "_decisions",
    "Work": "_work",
    "caller_runs": "_cpu",
    "current_lane": "_cpu",
    "new_job_id": "_work",
    "render_prometheus": "_prometheus",
    "scheduler_families": "_prometheus",
    "session_options": "_onnx",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Abort",
    "AbortReason",
    "ArrayBatching",
    "BackgroundPriority",
    "BatchRun",
    "Batching",
    "BatchingConfig",
    "CallerRun",
    "CancelOutcome",
    "CancelToken",
    "CpuExecutor",
    "Decisions",
    "Discipline",
    "Dispatch",
    "Executor",
    "ExecutorSlots",
    "Failure",
    "Feeds",
    "FreeMemory",
    "Job",
    "JobHandle",
    "Lane",
    "OnnxModelFile",
    "OnnxRun",
    "PolicyConfig",
    "RunAborted",
    "RunReport",
    "Scheduler",
    "SchedulingPolicy",
    "SessionLike",
    "Slice",
    "Work",
    "caller_runs",
    "current_lane",
    "new_job_id",
    "render_prometheus",
    "scheduler_families",
    "session_options",
]
