"""Scheduler records: what a client asks to run, and the scheduler's statistics.

The work itself (a callable and its inputs) never crosses a process boundary; these records
describe it (who asks, how urgent, where, how big) and report on it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ainos.protocol._base import Record

__all__ = [
    "ClientIdentity",
    "ExecutorStats",
    "GpuUtilLimit",
    "JobSpec",
    "JobState",
    "LatencySummary",
    "Priority",
    "QueueStats",
    "SchedulerStats",
]


class Priority(StrEnum):
    """Priority classes, most urgent first. Between classes priority is strict (with aging)."""

    REALTIME = "realtime"
    INTERACTIVE = "interactive"
    BATCH = "batch"
    IDLE = "idle"

    @property
    def rank(self) -> int:
        """0 for realtime … 3 for idle: lower runs first."""
        return _RANKS[self]


_RANKS = {p: i for i, p in enumerate(Priority)}


class ClientIdentity(Record):
    """Who submits a job. Fair sharing within a class is per :attr:`key`."""

    pid: int | None = None
    uid: int | None = None
    runtime_id: str | None = Field(
        default=None, description="Id given by IOCTL_AI_REGISTER_WINAI_RUNTIME, if registered."
    )
    name: str | None = None

    @property
    def key(self) -> str:
        if self.runtime_id is not None:
            return self.runtime_id
        if self.pid is not None:
            return f"pid:{self.pid}"
        return self.name or "anonymous"


class JobSpec(Record):
    """The description of one unit of device work (a model run, a generation step)."""

    job_id: str
    priority: Priority = Priority.INTERACTIVE
    client: ClientIdentity = Field(default_factory=ClientIdentity)
    model: str | None = None
    device: str = Field(default="cpu:0", description="Executor (device id) that runs the job.")
    deadline_ms: float | None = Field(
        default=None, gt=0, description="Time allowed from submission to completion."
    )
    estimated_cost_ms: float | None = Field(
        default=None, ge=0, description="Expected device time; charged to the client's share."
    )
    batch_key: str | None = Field(
        default=None, description="Jobs with equal keys may run merged; None never merges."
    )
    rows: int = Field(default=1, ge=1, description="Items along the batch axis.")
    memory_bytes: int = Field(default=0, ge=0, description="Device memory the job needs.")


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    REJECTED = "rejected"


class GpuUtilLimit(Record):
    """``set_gpu_util``: the share of an executor's time a client or a class may take."""

    target: str = Field(description="A client key, or a priority class name.")
    fraction: float = Field(gt=0, le=1)
    device: str | None = Field(default=None, description="None: every executor.")


class LatencySummary(Record):
    """Percentiles over a bounded window of recent samples; count and sum over all time."""

    count: int = 0
    sum_ms: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class QueueStats(Record):
    """Counters and timings of one priority class or one client."""

    queue_depth: int = 0
    running: int = 0
    submitted_total: int = 0
    completed_total: int = 0
    failed_total: int = 0
    cancelled_total: int = 0
    aborted_total: int = Field(default=0, description="Runs aborted to make way (re-queued).")
    rejected_total: int = 0
    deadline_misses_total: int = 0
    wait: LatencySummary = Field(default_factory=LatencySummary)
    run: LatencySummary = Field(default_factory=LatencySummary)
    latency: LatencySummary = Field(default_factory=LatencySummary)
    batch_sizes: dict[int, int] = Field(
        default_factory=dict, description="Rows per dispatched batch -> number of batches."
    )


class ExecutorStats(Record):
    name: str
    slots: int
    background_slots: int
    running_batches: int
    busy_fraction: float = Field(description="Busy slot time over the utilisation window.")
    chunk_rows: int | None = Field(
        default=None, description="Current bound on rows per chunk of preemptible work."
    )
    os_priority: str | None = Field(
        default=None, description="What the executor got from the OS for its background slots."
    )


class SchedulerStats(Record):
    """A snapshot of the scheduler (the driver's GET_SCHEDULER_STATS)."""

    timestamp: float = Field(description="Scheduler clock reading when taken.")
    discipline: str
    scheduled_tasks: int = Field(description="Jobs dispatched to an executor at least once.")
    average_latency_ms: float | None = Field(
        default=None, description="Mean submission-to-completion time over the window."
    )
    queued: int = 0
    running: int = 0
    preemptions_total: int = 0
    classes: dict[Priority, QueueStats] = Field(default_factory=dict)
    clients: dict[str, QueueStats] = Field(default_factory=dict)
    executors: list[ExecutorStats] = Field(default_factory=list)
