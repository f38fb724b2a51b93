"""The kernel's services behind the control plane: one implementation of the method table.

The daemon serves it over the socket; embedded mode calls it in-process. Each method takes
its params record and the :class:`Session` of the caller and returns its result record.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ainos import __version__
from ainos.errors import (
    AinosError,
    HandleNotOwned,
    InvalidArgument,
    NotFound,
    PoolClosed,
    PoolQuotaExceeded,
)
from ainos.kernel.control._boost import apply_os_priority
from ainos.kernel.control._jobs import JobRecord, JobTable
from ainos.kernel.control._ops import OperationContext, OperationRegistry, builtin_operations
from ainos.kernel.control._session import Session
from ainos.kernel.devices import DeviceInventory
from ainos.kernel.memory import DEFAULT_ARENA_BYTES, PinnedPool
from ainos.kernel.nvml import Nvml, open_nvml
from ainos.kernel.processes import ProcessMonitor
from ainos.kernel.scheduler import CpuExecutor, Job, PolicyConfig, Scheduler
from ainos.kernel.telemetry import Sampler
from ainos.protocol import JobRequirements, Placement, ProcessScan
from ainos.protocol.control import (
    METHODS,
    PROTOCOL_VERSION,
    AllocPinnedParams,
    ArenaInfo,
    BoostPriorityParams,
    BoostResult,
    Empty,
    FreedBlock,
    FreePinnedParams,
    GpuStatus,
    GpuStatusEntry,
    JobIdParams,
    JobInfo,
    JobResultParams,
    ListAiProcessesParams,
    MethodInfo,
    MethodList,
    PeerCredentials,
    RegisterRuntimeParams,
    RuntimeRegistration,
    SchedulerSummary,
    SetGpuUtilParams,
    SetGpuUtilResult,
    SubmitParams,
    SystemStats,
    VersionInfo,
)
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle
from ainos.protocol.scheduler import GpuUtilLimit, JobSpec, JobState, Priority
from ainos.protocol.telemetry import StatsSnapshot

__all__ = ["InvalidParams", "KernelServices", "ServicesConfig", "Session"]

_log = logging.getLogger(__name__)


class InvalidParams(InvalidArgument):
    """A method's parameters did not validate (JSON-RPC -32602)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class ServicesConfig:
    pool_bytes: int = DEFAULT_ARENA_BYTES
    # The most one client process may hold of the pinned pool, all its connections together.
    # None: half the pool, so one greedy or broken client always leaves room for another.
    pool_client_quota_bytes: int | None = None
    lock_pool: bool = True
    sampler_rate_hz: float = 10.0
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    cpu_slots: int = 1
    cpu_background_slots: int = 1
    drain_timeout_s: float = 5.0


class KernelServices:
    """Devices, telemetry, processes, the pinned pool and the scheduler, as one service."""

    def __init__(
        self,
        config: ServicesConfig | None = None,
        *,
        nvml: Nvml | None = None,
        operations: OperationRegistry | None = None,
    ) -> None:
        self.config = config or ServicesConfig()
        self.started_at = time.time()
        self.socket_path: str | None = None
        self.endpoints: dict[str, str] = {}  # filled by whoever serves more (HTTP)
        self._nvml = nvml if nvml is not None else open_nvml()
        self.devices = DeviceInventory(self._nvml)
        self.sampler = Sampler(rate_hz=self.config.sampler_rate_hz, nvml=self._nvml)
        self.processes = ProcessMonitor(self._nvml)
        self.pool = PinnedPool(self.config.pool_bytes, lock=self.config.lock_pool)
        quota = self.config.pool_client_quota_bytes
        if quota is not None and quota <= 0:
            raise InvalidArgument(f"the pool quota per client must be positive, not {quota}")
        self.pool_client_quota_bytes = quota if quota is not None else self.pool.total_bytes // 2
        self._alloc_lock = threading.Lock()  # a quota check and its allocation are one step
        self.operations = operations or builtin_operations()
        self.scheduler = Scheduler(
            [
                CpuExecutor(
                    "cpu:0",
                    slots=self.config.cpu_slots,
                    background_slots=self.config.cpu_background_slots,
                )
            ],
            self.config.policy,
            free_memory=self._free_memory,
        )
        self._lock = threading.Lock()
        self._sessions: dict[int, Session] = {}
        self._session_ids = itertools.count(1)
        self._registration_ids = itertools.count(1)
        self.jobs = JobTable()
        self._accepting = True
        self._closed = False

    def _free_memory(self, device_id: str) -> int | None:
        """Headroom for admission, read on the dispatch path: the CPU's comes from the
        sampler's latest snapshot (at most one period old) rather than a fresh /proc read."""
        snapshot = self.sampler.latest()
        if device_id == "cpu:0" and snapshot is not None:
            return snapshot.cpu.memory_available_bytes
        if device_id not in self.devices.ids():
            return None  # an engine's executor (llm:<model>): its memory is allocated at load
        return self.devices.free_memory(device_id)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> KernelServices:
        self.sampler.start()
        self.scheduler.start()
        return self

    def drain(self, timeout_s: float | None = None) -> int:
        """Refuse new jobs and give unfinished ones up to ``timeout_s`` to finish;
        returns how many are still unfinished."""
        with self._lock:
            self._accepting = False
        pending = self.jobs.unfinished()
        wait = self.config.drain_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait
        for record in pending:
            record.done.wait(max(0.0, deadline - time.monotonic()))
        return sum(1 for r in pending if not r.done.is_set())

    def close(self) -> None:
        """Drain, cancel what is left, release the pool and stop sampling."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.drain()
        self.scheduler.close()
        self.sampler.stop()
        self.pool.close()
        if self._nvml is not None:
            self._nvml.close()

    def __enter__(self) -> KernelServices:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- sessions ---------------------------------------------------------------------------

    def open_session(
        self,
        peer: PeerCredentials,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> Session:
        with self._lock:
            session = Session(next(self._session_ids), peer, notify)
            self._sessions[session.session_id] = session
        return session

    def close_session(self, session: Session) -> None:
        """The client left (or died): cancel its jobs, free its blocks, forget it."""
        with self._lock:
            self._sessions.pop(session.session_id, None)
            jobs = list(session.jobs)
            pid_still_registered = any(
                s.registration is not None and s.peer.pid == session.peer.pid
                for s in self._sessions.values()
            )
        for job_id in jobs:
            self.scheduler.cancel(job_id)
        # A pool closed meanwhile (the daemon stopping) has let go of every block already.
        try:
            freed = self.pool.free_owner(session.owner)
        except PoolClosed:
            freed = []
        if freed:
            _log.info("freed %d pinned blocks of %s", len(freed), session.owner)
        if session.registration is not None and not pid_still_registered:
            self.processes.unregister(session.peer.pid)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    # -- dispatch ---------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], session: Session) -> dict[str, Any]:
        """Validate ``params`` for ``method``, run it, and return the result as JSON data."""
        spec = METHODS.get(method)
        if spec is None:
            raise NotFound(f"Method not found: {method}")
        try:
            typed = spec.params.model_validate(params)
        except ValidationError as exc:
            errors = [
                {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in exc.errors()
            ]
            where = "; ".join(f"{e['loc'] or 'params'}: {e['msg']}" for e in errors)
            raise InvalidParams(f"Invalid params: {where}", errors) from None
        handler: Callable[[Any, Session], Any] = getattr(self, method)
        return handler(typed, session).model_dump(mode="json")  # type: ignore[no-any-return]

    # -- the method table -------------------------------------------------------------------

    def version(self, _params: Empty, session: Session) -> VersionInfo:
        return VersionInfo(
            version=__version__,
            protocol_version=PROTOCOL_VERSION,
            pid=os.getpid(),
            started_at=self.started_at,
            embedded=self.socket_path is None,
            socket_path=self.socket_path,
            endpoints=dict(self.endpoints),
        )

    def list_methods(self, _params: Empty, session: Session) -> MethodList:
        return MethodList(
            methods=[
                MethodInfo(
                    name=name,
                    description=spec.description,
                    ioctl=spec.ioctl,
                    params=list(spec.params.model_fields),
                )
                for name, spec in METHODS.items()
            ]
        )

    def _snapshot(self) -> StatsSnapshot:
        return self.sampler.latest() or self.sampler.sample_now()

    def get_stats(self, _params: Empty, session: Session) -> SystemStats:
        return self.system_stats(self.processes.scan())

    def system_stats(self, scan: ProcessScan) -> SystemStats:
        """``get_stats`` over a process scan already taken (a scan reads every process's
        CPU time since the last one: a second scan right after would measure a few ms)."""
        with self._lock:
            registered = sum(1 for s in self._sessions.values() if s.registration is not None)
        return SystemStats(
            uptime_seconds=time.time() - self.started_at,
            clients=self.session_count,
            registered_runtimes=registered,
            ai_processes=len(scan.processes),
            devices=self._snapshot(),
            memory_pool=self.pool.stats(),
            scheduler=self.scheduler.stats(),
        )

    def get_gpu_status(self, _params: Empty, session: Session) -> GpuStatus:
        snapshot = self._snapshot()
        return GpuStatus(
            timestamp=snapshot.timestamp,
            gpus=[
                GpuStatusEntry(
                    index=gpu.index,
                    name=gpu.name,
                    utilization=gpu.utilization_percent,
                    memory_used=gpu.memory_used_bytes,
                    memory_total=gpu.memory_total_bytes,
                    temperature=gpu.temperature_celsius,
                )
                for gpu in snapshot.gpus
            ],
        )

    def get_memory_pool(self, _params: Empty, session: Session) -> MemoryPoolStats:
        return self.pool.stats()

    def get_scheduler_stats(self, _params: Empty, session: Session) -> SchedulerSummary:
        stats = self.scheduler.stats()
        return SchedulerSummary(
            ai_processes=len(self.processes.scan().processes),
            scheduled_tasks=stats.scheduled_tasks,
            average_latency_ms=stats.average_latency_ms,
            stats=stats,
        )

    def alloc_pinned(self, params: AllocPinnedParams, session: Session) -> PinnedHandle:
        quota = self.pool_client_quota_bytes
        with self._alloc_lock:
            held = self._pinned_bytes_of(session.peer.pid)
            if held + params.size <= quota:
                handle = self.pool.alloc(params.size, session.owner)
                if held + handle.block_size <= quota:
                    return handle
                # The allocator rounded the block up past the quota: give it back.
                self.pool.free(handle, session.owner)
        raise PoolQuotaExceeded(
            f"pinned pool quota exceeded: client pid {session.peer.pid} holds {held} of its "
            f"{quota} bytes (--pool-client-quota-mib) and asked for {params.size} more"
        )

    def _pinned_bytes_of(self, pid: int) -> int:
        """Bytes of the pool held by every connection of process ``pid``."""
        with self._lock:
            owners = [s.owner for s in self._sessions.values() if s.peer.pid == pid]
        return sum(h.block_size for owner in owners for h in self.pool.handles(owner))

    def free_pinned(self, params: FreePinnedParams, session: Session) -> FreedBlock:
        for handle in self.pool.handles(session.owner):
            if handle.handle_id == params.handle_id:
                self.pool.free(handle, session.owner)
                return FreedBlock(handle_id=handle.handle_id, freed_bytes=handle.block_size)
        if any(h.handle_id == params.handle_id for h in self.pool.handles()):
            raise HandleNotOwned(f"pinned block {params.handle_id} belongs to another client")
        raise NotFound(f"no pinned block {params.handle_id}")

    def attach_pool(self, _params: Empty, session: Session) -> ArenaInfo:
        """The arena to map; the transport sends its descriptor alongside."""
        return ArenaInfo(arena_id=self.pool.arena_id, size=self.pool.total_bytes)

    def register_runtime(
        self, params: RegisterRuntimeParams, session: Session
    ) -> RuntimeRegistration:
        registration = RuntimeRegistration(
            runtime_id=f"{params.name}-{session.peer.pid}-{next(self._registration_ids)}",
            pid=session.peer.pid,
            name=params.name,
            runtime=params.runtime,
            default_priority=params.default_priority,
        )
        try:
            self.processes.register(session.peer.pid, params.runtime)
        except Exception as exc:  # psutil.NoSuchProcess: the peer is already gone
            raise NotFound(f"process {session.peer.pid} is gone") from exc
        session.registration = registration
        if params.uses_gpu:  # the pool's CUDA context is made for the first GPU client only
            self.pool.register_cuda(f"{params.name} (pid {session.peer.pid})")
        return registration

    def get_optimized_path(self, params: JobRequirements, session: Session) -> Placement:
        return self.devices.optimized_path(params)

    def boost_priority(self, params: BoostPriorityParams, session: Session) -> BoostResult:
        with self._lock:
            targets = [
                s
                for s in self._sessions.values()
                if s.registration is not None and s.peer.pid == params.pid
            ]
            for target in targets:
                assert target.registration is not None
                target.registration = target.registration.model_copy(
                    update={"default_priority": params.priority}
                )
        if not targets and all(p.pid != params.pid for p in self.processes.scan().processes):
            raise NotFound(f"process {params.pid} is neither registered nor an AI process")
        applied = [f"class {params.priority.value} for {len(targets)} registrations"]
        refused: list[str] = []
        if params.os_scheduling:
            os_applied, refused = apply_os_priority(params.pid, params.priority)
            applied += os_applied
        return BoostResult(
            pid=params.pid,
            priority=params.priority,
            runtimes=[t.registration.runtime_id for t in targets if t.registration is not None],
            applied=applied,
            refused=refused,
        )

    def set_gpu_util(self, params: SetGpuUtilParams, session: Session) -> SetGpuUtilResult:
        target: str | Priority = params.target
        if params.target in Priority.__members__.values():
            target = Priority(params.target)
        self.scheduler.set_gpu_util(target, params.fraction, params.device)
        limit = (
            GpuUtilLimit(target=params.target, fraction=params.fraction, device=params.device)
            if params.fraction is not None
            else None
        )
        return SetGpuUtilResult(limit=limit, target=params.target)

    # -- jobs -------------------------------------------------------------------------------

    def submit(self, params: SubmitParams, session: Session) -> JobInfo:
        if not self._accepting:
            raise AinosError("the runtime is shutting down and accepts no new jobs")
        prepared = self.operations.prepare(
            params.op, params.args, OperationContext(self.pool, session.owner)
        )
        registration = session.registration
        priority = params.priority or (
            registration.default_priority if registration else Priority.INTERACTIVE
        )
        spec = JobSpec(
            job_id=os.urandom(8).hex(),
            priority=priority,
            client=session.identity(),
            model=prepared.model,
            device=prepared.device,
            deadline_ms=params.deadline_ms,
            estimated_cost_ms=prepared.estimated_cost_ms,
            batch_key=prepared.batch_key,
            memory_bytes=prepared.memory_bytes,
        )
        job: Job[Any, Any] = Job(
            spec=spec,
            work=prepared.work,
            inputs=prepared.inputs,
            batching=prepared.batching,
            abortable=prepared.abortable,
        )
        info = JobInfo(
            job_id=spec.job_id,
            op=params.op,
            priority=priority,
            state=JobState.QUEUED,
            submitted_at=time.time(),
        )
        record = self.jobs.add(info, session, params.notify)
        try:
            handle = self.scheduler.submit(job)
        except AinosError:
            self.jobs.discard(record)
            raise
        handle.future.add_done_callback(lambda future: self.jobs.finish(spec.job_id, future))
        if params.wait_s is not None:
            record.done.wait(params.wait_s)
        return self._current(record)

    def _current(self, record: JobRecord) -> JobInfo:
        if record.done.is_set():
            return record.info
        state = self.scheduler.state(record.info.job_id)
        if state is None or state == record.info.state:
            return record.info
        return record.info.model_copy(update={"state": state})

    def cancel(self, params: JobIdParams, session: Session) -> JobInfo:
        record = self.jobs.get(params.job_id)
        self.scheduler.cancel(params.job_id)
        record.done.wait(1.0)  # the cancellation resolves the job promptly
        return self._current(record)

    def job_status(self, params: JobIdParams, session: Session) -> JobInfo:
        return self._current(self.jobs.get(params.job_id))

    def job_result(self, params: JobResultParams, session: Session) -> JobInfo:
        record = self.jobs.get(params.job_id)
        record.done.wait(params.timeout_s)
        return self._current(record)

    def list_ai_processes(self, params: ListAiProcessesParams, session: Session) -> ProcessScan:
        return self.processes.scan(include_all=params.include_all)
