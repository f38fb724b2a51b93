"""The control plane's method table: one method per IOCTL of the planned driver.

Each method has a params record and a result record; the daemon and the in-process
(embedded) implementation answer the same table. The wire is newline-delimited JSON-RPC 2.0
over a Unix socket (``ainos.kernel.control``).

| driver IOCTL                       | method                |
| ---------------------------------- | --------------------- |
| IOCTL_AI_GET_STATS                 | ``get_stats``         |
| IOCTL_AI_SET_GPU_UTIL              | ``set_gpu_util``      |
| IOCTL_AI_BOOST_PRIORITY            | ``boost_priority``    |
| IOCTL_AI_GET_GPU_STATUS            | ``get_gpu_status``    |
| IOCTL_AI_GET_MEMORY_POOL           | ``get_memory_pool``   |
| IOCTL_AI_GET_SCHEDULER_STATS       | ``get_scheduler_stats`` |
| IOCTL_AI_ALLOC_PINNED              | ``alloc_pinned``      |
| IOCTL_AI_FREE_PINNED               | ``free_pinned``       |
| IOCTL_AI_REGISTER_WINAI_RUNTIME    | ``register_runtime``  |
| IOCTL_AI_GET_OPTIMIZED_GPU_PATH    | ``get_optimized_path``|

and what a real service needs besides: ``version``, ``list_methods``, ``attach_pool`` (the
arena's file descriptor, passed with SCM_RIGHTS), ``submit``, ``cancel``, ``job_status``,
``job_result`` and ``list_ai_processes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt

from ainos.protocol._base import Record
from ainos.protocol.devices import JobRequirements, Placement
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle
from ainos.protocol.processes import ProcessScan
from ainos.protocol.scheduler import GpuUtilLimit, JobState, Priority, SchedulerStats
from ainos.protocol.telemetry import StatsSnapshot

# Params are strict about types: a size is an integer, not "10" nor true (bool is an int in
# Python, not in JSON), a flag is true or false, a duration a number. Lax coercion would let
# a client's mistake pass for a request it did not mean. Integers stay within what a driver's
# IOCTL takes (int64): JSON integers are unbounded, and a larger one means nothing here.
INT64_MAX = 2**63 - 1

__all__ = [
    "INT64_MAX",
    "IOCTL_METHODS",
    "METHODS",
    "PROTOCOL_VERSION",
    "AllocPinnedParams",
    "ArenaInfo",
    "BoostPriorityParams",
    "BoostResult",
    "Empty",
    "ErrorCode",
    "FreePinnedParams",
    "FreedBlock",
    "GpuStatus",
    "GpuStatusEntry",
    "JobIdParams",
    "JobInfo",
    "JobResultParams",
    "ListAiProcessesParams",
    "MethodInfo",
    "MethodList",
    "MethodSpec",
    "PeerCredentials",
    "RegisterRuntimeParams",
    "RuntimeRegistration",
    "SchedulerSummary",
    "SetGpuUtilParams",
    "SetGpuUtilResult",
    "SubmitParams",
    "SystemStats",
    "VersionInfo",
]

PROTOCOL_VERSION = 1


class ErrorCode:
    """JSON-RPC 2.0 error codes, and ours in the range the spec leaves to servers."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    AINOS_ERROR = -32000  # any AinosError; data.type names its class
    QUEUE_FULL = -32001
    DEADLINE_EXCEEDED = -32002
    PERMISSION_DENIED = -32003
    NOT_FOUND = -32004
    JOB_FAILED = -32005
    JOB_CANCELLED = -32006


class Empty(Record):
    """A method that takes no parameters."""


class PeerCredentials(Record):
    """Who is on the other end of a control connection (from SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int


class VersionInfo(Record):
    version: str
    protocol_version: int
    pid: int
    started_at: float
    embedded: bool = Field(description="True when answered in-process, without a daemon.")
    socket_path: str | None = None
    endpoints: dict[str, str] = Field(
        default_factory=dict, description="Other ways in, e.g. http: the OpenAI-compatible API."
    )


class GpuStatusEntry(Record):
    """IOCTL_AI_GET_GPU_STATUS's fields for one GPU; absent where NVML cannot read them."""

    index: int
    name: str
    utilization: float | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature: float | None = None


class GpuStatus(Record):
    timestamp: float
    gpus: list[GpuStatusEntry]


class SchedulerSummary(Record):
    """IOCTL_AI_GET_SCHEDULER_STATS: the driver's three figures, and the full statistics."""

    ai_processes: int
    scheduled_tasks: int
    average_latency_ms: float | None
    stats: SchedulerStats


class SystemStats(Record):
    """IOCTL_AI_GET_STATS: everything at once."""

    uptime_seconds: float
    clients: int = Field(description="Open control connections.")
    registered_runtimes: int
    ai_processes: int
    devices: StatsSnapshot
    memory_pool: MemoryPoolStats | None = None
    scheduler: SchedulerStats | None = None


class AllocPinnedParams(Record):
    size: StrictInt = Field(gt=0, le=INT64_MAX, description="Bytes wanted.")


class FreePinnedParams(Record):
    handle_id: StrictInt = Field(ge=1, le=INT64_MAX)


class FreedBlock(Record):
    handle_id: int
    freed_bytes: int


class ArenaInfo(Record):
    """Sent with the arena's file descriptor: map ``size`` bytes of it."""

    arena_id: str
    size: int


class RegisterRuntimeParams(Record):
    name: str = Field(min_length=1, max_length=128, description="The client's name.")
    runtime: str = Field(
        default="custom", min_length=1, max_length=64, description="e.g. onnxruntime"
    )
    default_priority: Priority = Priority.INTERACTIVE
    uses_gpu: StrictBool = Field(
        default=False,
        description="The client moves pinned blocks to or from a GPU: the first such client "
        "has the daemon register the pinned pool with CUDA (which creates a CUDA context).",
    )


class RuntimeRegistration(Record):
    runtime_id: str
    pid: int
    name: str
    runtime: str
    default_priority: Priority


class BoostPriorityParams(Record):
    pid: StrictInt = Field(gt=0, le=INT64_MAX)
    priority: Priority
    os_scheduling: StrictBool = Field(
        default=True,
        description="Also change the process's OS scheduling where permitted: policy, nice "
        "value, CPU affinity and cgroup v2 CPU weight.",
    )


class BoostResult(Record):
    pid: int
    priority: Priority
    runtimes: list[str] = Field(description="Registrations whose class changed.")
    applied: list[str] = Field(description="What was done, one line each.")
    refused: list[str] = Field(description="What the OS did not permit, and why.")


class SetGpuUtilResult(Record):
    limit: GpuUtilLimit | None = Field(description="The limit now in force, None once lifted.")
    target: str


class SubmitParams(Record):
    """A job by name: ``op`` is one of the operations the daemon offers."""

    op: str = Field(min_length=1, max_length=128)
    args: dict[str, Any] = Field(default_factory=dict)
    priority: Priority | None = Field(
        default=None, description="None: the registration's default class."
    )
    deadline_ms: StrictFloat | None = Field(default=None, gt=0)
    notify: StrictBool = Field(
        default=False, description="Send job_event notifications on this connection."
    )
    wait_s: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=3600,
        description="Wait up to this long for the outcome before answering (one round trip).",
    )


class JobIdParams(Record):
    job_id: str = Field(min_length=1, max_length=64)


class JobResultParams(Record):
    job_id: str = Field(min_length=1, max_length=64)
    timeout_s: StrictFloat = Field(default=30.0, ge=0, le=3600)


class JobInfo(Record):
    job_id: str
    op: str
    priority: Priority
    state: JobState
    submitted_at: float
    finished_at: float | None = None
    result: Any = None
    error: str | None = None
    error_type: str | None = None


class ListAiProcessesParams(Record):
    include_all: StrictBool = False


class SetGpuUtilParams(Record):
    """Cap the share of an executor's time a client (runtime id) or a class may take."""

    target: str = Field(min_length=1, description="A runtime id / client key, or a class name.")
    fraction: StrictFloat | None = Field(
        default=None, gt=0, le=1, description="None lifts the cap."
    )
    device: str | None = Field(default=None, description="None: every device.")


class MethodInfo(Record):
    """One method of the table, as ``list_methods`` describes it."""

    name: str
    description: str
    ioctl: str | None = None
    params: list[str] = Field(description="The names of its parameters.")


class MethodList(Record):
    methods: list[MethodInfo]


@dataclass(frozen=True)
class MethodSpec:
    params: type[Record]
    result: type[Record]
    description: str
    ioctl: str | None = None


METHODS: dict[str, MethodSpec] = {
    "version": MethodSpec(Empty, VersionInfo, "The daemon's version, pid and endpoints."),
    "list_methods": MethodSpec(Empty, MethodList, "The methods of the control plane."),
    "get_stats": MethodSpec(
        Empty, SystemStats, "Everything at once: devices, pool, scheduler.", "IOCTL_AI_GET_STATS"
    ),
    "get_gpu_status": MethodSpec(
        Empty,
        GpuStatus,
        "Each GPU's utilisation, memory and temperature.",
        "IOCTL_AI_GET_GPU_STATUS",
    ),
    "get_memory_pool": MethodSpec(
        Empty, MemoryPoolStats, "The pinned memory pool's statistics.", "IOCTL_AI_GET_MEMORY_POOL"
    ),
    "get_scheduler_stats": MethodSpec(
        Empty, SchedulerSummary, "The AI scheduler's statistics.", "IOCTL_AI_GET_SCHEDULER_STATS"
    ),
    "alloc_pinned": MethodSpec(
        AllocPinnedParams,
        PinnedHandle,
        "Reserve a block of the pinned pool (size bytes) for this connection.",
        "IOCTL_AI_ALLOC_PINNED",
    ),
    "free_pinned": MethodSpec(
        FreePinnedParams,
        FreedBlock,
        "Free a pinned block this client holds.",
        "IOCTL_AI_FREE_PINNED",
    ),
    "attach_pool": MethodSpec(
        Empty, ArenaInfo, "The pinned arena, its file descriptor passed alongside (SCM_RIGHTS)."
    ),
    "register_runtime": MethodSpec(
        RegisterRuntimeParams,
        RuntimeRegistration,
        "Register the calling process as an AI runtime, with its default priority class.",
        "IOCTL_AI_REGISTER_WINAI_RUNTIME",
    ),
    "get_optimized_path": MethodSpec(
        JobRequirements,
        Placement,
        "The device a job with these requirements should run on, and why.",
        "IOCTL_AI_GET_OPTIMIZED_GPU_PATH",
    ),
    "boost_priority": MethodSpec(
        BoostPriorityParams,
        BoostResult,
        "Change a process's priority class (and its OS scheduling where permitted).",
        "IOCTL_AI_BOOST_PRIORITY",
    ),
    "set_gpu_util": MethodSpec(
        SetGpuUtilParams,
        SetGpuUtilResult,
        "Cap (or, without fraction, uncap) the share of a device a client or class may take.",
        "IOCTL_AI_SET_GPU_UTIL",
    ),
    "submit": MethodSpec(SubmitParams, JobInfo, "Submit a job: an operation by name, its args."),
    "cancel": MethodSpec(JobIdParams, JobInfo, "Cancel a job."),
    "job_status": MethodSpec(JobIdParams, JobInfo, "A job's state now."),
    "job_result": MethodSpec(JobResultParams, JobInfo, "Wait up to timeout_s for a job's outcome."),
    "list_ai_processes": MethodSpec(
        ListAiProcessesParams, ProcessScan, "AI processes: ML runtimes, GPU users, registrations."
    ),
}

IOCTL_METHODS: dict[str, str] = {
    spec.ioctl: name for name, spec in METHODS.items() if spec.ioctl is not None
}
