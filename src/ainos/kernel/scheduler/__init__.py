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

from ._config import BatchingConfig, Discipline, ExecutorSlots, PolicyConfig
from ._cpu import BackgroundPriority, CpuExecutor, current_lane
from ._decisions import Abort, CancelOutcome, Decisions, Dispatch, Failure, Lane, Slice
from ._executor import BatchRun, Executor, RunReport
from ._onnx import OnnxModelFile, OnnxRun, SessionLike, session_options
from ._policy import FreeMemory, SchedulingPolicy
from ._prometheus import render_prometheus, scheduler_families
from ._runtime import JobHandle, Scheduler
from ._token import AbortReason, CancelToken, RunAborted
from ._work import ArrayBatching, Batching, Feeds, Job, Work, new_job_id

__all__ = [
    "Abort",
    "AbortReason",
    "ArrayBatching",
    "BackgroundPriority",
    "BatchRun",
    "Batching",
    "BatchingConfig",
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
    "current_lane",
    "new_job_id",
    "render_prometheus",
    "scheduler_families",
    "session_options",
]
