"""The scheduling policy: a plain synchronous object with no threads, no I/O and no clock.

Every method takes ``now`` from the caller, so the runtime drives it with a real clock and
tests drive it with a fake one. It decides which rows of which jobs run where, and keeps
the books; it never sees the work or its data.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from ainos.errors import DeadlineExceeded, InvalidArgument, NotFound, QueueFull
from ainos.protocol.scheduler import ExecutorStats, JobSpec, JobState, Priority, SchedulerStats

from ._chunking import ChunkController
from ._config import BatchingConfig, Discipline, ExecutorSlots, PolicyConfig
from ._decisions import Abort, CancelOutcome, Decisions, Dispatch, Failure, Lane, Slice
from ._stats import StatsRecorder
from ._token import AbortReason
from ._usage import UsageWindow

__all__ = ["FreeMemory", "SchedulingPolicy"]

FreeMemory = Callable[[str], int | None]
"""Free memory of a device in bytes, or None where unknown (the devices module provides it)."""

_BACKGROUND_CLASSES = frozenset({Priority.BATCH, Priority.IDLE})
_UTIL_RECHECK = 20  # a capped client is looked at again every window/20


@dataclass(eq=False)
class _Entry:
    spec: JobSpec
    seq: int
    submitted: float
    deadline: float | None
    ready_since: float  # since when it waits for its next run (submission, or its last chunk)
    abortable: bool
    splittable: bool
    next_row: int = 0
    in_flight: int | None = None
    first_dispatch: float | None = None
    run_time: float = 0.0
    blocked_rows: int = 0  # realtime: rows of the chunk found holding its slot
    client: str = field(init=False)  # the client's key, asked on every decision
    key: tuple[Priority, str] = field(init=False)  # (class, client): fair-share accounts
    rank: int = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.spec.client.key
        self.key = (self.spec.priority, self.client)
        self.rank = self.spec.priority.rank

    @property
    def remaining(self) -> int:
        return self.spec.rows - self.next_row


@dataclass(eq=False)
class _Run:
    dispatch: Dispatch
    started: float
    shares: dict[str, float]
    abort: AbortReason | None = None


@dataclass(eq=False)
class _Executor:
    slots: ExecutorSlots
    usage: UsageWindow
    chunks: ChunkController
    running: dict[int, _Run] = field(default_factory=dict)
    # Runs in progress per lane, kept beside ``running`` (asked several times per decision).
    busy: dict[Lane, int] = field(default_factory=lambda: dict.fromkeys(Lane, 0))

    def start(self, batch_id: int, run: _Run) -> None:
        self.running[batch_id] = run
        self.busy[run.dispatch.lane] += 1

    def end(self, batch_id: int) -> _Run | None:
        run = self.running.pop(batch_id, None)
        if run is not None:
            self.busy[run.dispatch.lane] -= 1
        return run

    def free(self, lane: Lane) -> int:
        total = self.slots.slots if lane is Lane.FOREGROUND else self.slots.background_slots
        return total - self.busy[lane]

    def accepts(self, lane: Lane, priority: Priority) -> bool:
        background = priority in _BACKGROUND_CLASSES
        if lane is Lane.BACKGROUND:
            return background
        if self.slots.background_slots:
            return not background
        limit = self.slots.background_limit
        if background and limit is not None:
            held = sum(
                1 for r in self.running.values() if r.dispatch.priority in _BACKGROUND_CLASSES
            )
            return held < limit
        return True


def _client_target(client: str) -> str:
    return f"client:{client}"


def _class_target(priority: Priority) -> str:
    return f"class:{priority}"


class SchedulingPolicy:
    """Priority classes with aging, weighted fair sharing per client within a class (virtual
    time), earliest deadline first among realtime jobs, dynamic batching, bounded device hold
    and preemption; or plain FIFO (``PolicyConfig.discipline``)."""

    def __init__(
        self,
        executors: Sequence[ExecutorSlots],
        config: PolicyConfig | None = None,
        *,
        free_memory: FreeMemory | None = None,
    ) -> None:
        self._config = config or PolicyConfig()
        cfg = self._config
        if not executors:
            raise InvalidArgument("a scheduler needs at least one executor")
        self._executors = {e.name: self._new_executor(e) for e in executors}
        self._free_memory = free_memory
        self._jobs: dict[str, _Entry] = {}
        self._seq = itertools.count()
        self._batch_ids = itertools.count(1)
        self._vtime: dict[tuple[Priority, str], float] = {}
        self._vclock: dict[Priority, float] = defaultdict(float)
        self._weights: dict[str, float] = {}
        self._caps: dict[tuple[str | None, str], float] = {}
        self._stats = StatsRecorder(cfg.stats_window)
        # batch key -> (clients its last run answered, when): clients served together tend
        # to come back together (a closed loop), see _next_batch.
        self._last_runs: dict[str, tuple[frozenset[str], float]] = {}
        self._wakeups: list[float] = []
        self._capped_waiting = False

    @property
    def config(self) -> PolicyConfig:
        return self._config

    def _new_executor(self, slots: ExecutorSlots) -> _Executor:
        cfg = self._config
        return _Executor(
            slots,
            UsageWindow(cfg.util_window, slots.slots + slots.background_slots),
            ChunkController(
                cfg.max_hold, cfg.min_chunk_rows, cfg.realtime_window, cfg.predict_realtime
            ),
        )

    def add_executor(self, slots: ExecutorSlots) -> None:
        """A device that appears while running (a model engine loaded with its own slots)."""
        if slots.name in self._executors:
            raise InvalidArgument(f"executor {slots.name!r} already exists")
        self._executors[slots.name] = self._new_executor(slots)

    def remove_executor(self, name: str) -> None:
        """Forget an executor; refused while it runs or has jobs waiting for it."""
        executor = self._executors.get(name)
        if executor is None:
            raise NotFound(f"no executor {name!r}")
        if executor.running or any(e.spec.device == name for e in self._jobs.values()):
            raise InvalidArgument(f"executor {name!r} still has jobs")
        del self._executors[name]

    # -- clients' requests ------------------------------------------------------------------

    def submit(
        self, spec: JobSpec, now: float, *, abortable: bool = False, splittable: bool = False
    ) -> None:
        """Admit a job or raise :class:`QueueFull` / :class:`InvalidArgument` / :class:`NotFound`.

        ``splittable``: its rows may run in several chunks; ``abortable``: a run of it can be
        stopped midway (and run again later) without harm.
        """
        if spec.job_id in self._jobs:
            raise InvalidArgument(f"job {spec.job_id} is already submitted")
        executor = self._executors.get(spec.device)
        if executor is None:
            raise NotFound(f"no executor for device {spec.device!r}")
        key = (spec.priority, spec.client.key)
        bound = self._config.max_queued.get(spec.priority)
        if bound is not None and len(self._jobs) >= bound:  # (fewer jobs in all: room)
            waiting = sum(
                1
                for e in self._jobs.values()
                if e.spec.priority is spec.priority and e.in_flight is None
            )
            if waiting >= bound:
                self._stats.rejected(key)
                raise QueueFull(f"{spec.priority} queue is full ({waiting} jobs waiting)")
        deadline = None if spec.deadline_ms is None else now + spec.deadline_ms / 1000.0
        self._jobs[spec.job_id] = _Entry(
            spec=spec,
            seq=next(self._seq),
            submitted=now,
            deadline=deadline,
            ready_since=now,
            abortable=abortable,
            splittable=splittable,
        )
        self._stats.submitted(key)
        if spec.priority is Priority.REALTIME:
            executor.chunks.realtime_seen(now)

    def cancel(self, job_id: str, now: float) -> CancelOutcome:
        """Withdraw a job at any stage. A run whose jobs are all gone is to be aborted."""
        entry = self._jobs.pop(job_id, None)
        if entry is None:
            return CancelOutcome("unknown")
        self._stats.cancelled(entry.key)
        if entry.in_flight is None:
            return CancelOutcome("queued")
        return CancelOutcome(
            "running", self._abort_if_orphaned(entry.in_flight, AbortReason.CANCELLED)
        )

    def set_weight(self, client: str, weight: float) -> None:
        """A client's weight in fair sharing within its class (default 1)."""
        if weight <= 0 or not math.isfinite(weight):
            raise InvalidArgument("a client's weight must be a positive number")
        self._weights[client] = weight

    def set_gpu_util(
        self, target: str | Priority, fraction: float | None, device: str | None = None
    ) -> None:
        """Cap a client (by key) or a class (by name) to ``fraction`` of an executor's time over
        the utilisation window (on ``device``, or on all); ``None`` lifts the cap."""
        if fraction is not None and not 0 < fraction <= 1:
            raise InvalidArgument("a utilisation cap is a fraction in (0, 1]")
        if device is not None and device not in self._executors:
            raise NotFound(f"no executor for device {device!r}")
        name = (
            _class_target(Priority(target))
            if target in tuple(Priority)
            else _client_target(str(target))
        )
        if fraction is None:
            self._caps.pop((device, name), None)
        else:
            self._caps[(device, name)] = fraction

    # -- the decision -----------------------------------------------------------------------

    def schedule(self, now: float) -> Decisions:
        """Fail expired jobs, fill every free slot, and ask for preemptions realtime work needs."""
        decisions = Decisions()
        self._wakeups = []
        self._capped_waiting = False
        self._expire(now, decisions)
        # The classes waiting per device: an executor with none has no slot to fill (most
        # have none: a lone request waits on one device, and is gone once dispatched), and
        # a lane that takes none of them has nothing to look for.
        waiting: dict[str, set[Priority]] = {}
        for e in self._jobs.values():
            if e.in_flight is None:
                waiting.setdefault(e.spec.device, set()).add(e.spec.priority)
        for executor in self._executors.values():
            classes = waiting.get(executor.slots.name)
            if classes is None:
                continue  # nothing to dispatch, and no realtime work to make way for
            reserved = 0
            for lane in (Lane.FOREGROUND, Lane.BACKGROUND):
                if not any(executor.accepts(lane, priority) for priority in classes):
                    continue
                shared: set[str] = set()  # batch keys this pass has given a slot
                while executor.free(lane) > 0:
                    dispatch = self._next_batch(executor, lane, now, reserved, shared)
                    if dispatch is None:
                        break
                    reserved += sum(self._jobs[j].spec.memory_bytes for j in set(dispatch.job_ids))
                    decisions.dispatches.append(dispatch)
                    if dispatch.batch_key is not None:
                        shared.add(dispatch.batch_key)
            self._make_way(executor, now, decisions)
        return decisions

    def next_wakeup(self, now: float) -> float | None:
        """When :meth:`schedule` must run again even if nothing else happens."""
        times = [e.deadline for e in self._jobs.values() if e.deadline is not None]
        times += self._wakeups
        if self._capped_waiting:
            times.append(now + self._config.util_window / _UTIL_RECHECK)
        return min(times) if times else None

    # -- executors' reports -----------------------------------------------------------------

    def on_complete(self, batch_id: int, now: float, run_time: float | None = None) -> list[str]:
        """A run finished: its rows are done. Returns the jobs now complete (all rows done)."""
        executor, run, run_time = self._finish(batch_id, now, run_time)
        executor.chunks.observe(run.dispatch.batch_key, run.dispatch.rows, run_time)
        if run.dispatch.priority is not Priority.REALTIME:
            executor.chunks.quiet(now)
        complete: list[str] = []
        answered: set[str] = set()
        for piece in run.dispatch.slices:
            entry = self._live(piece.job_id, batch_id)
            if entry is None:
                continue
            entry.in_flight = None
            entry.run_time += run_time
            entry.next_row = piece.stop
            if entry.remaining == 0:
                answered.add(entry.client)
                del self._jobs[piece.job_id]
                self._stats.completed(entry.key, entry.run_time, now - entry.submitted)
                complete.append(piece.job_id)
            else:
                entry.ready_since = now
        if run.dispatch.batch_key is not None:
            self._last_runs[run.dispatch.batch_key] = (frozenset(answered), now)
        return complete

    def on_failed(self, batch_id: int, now: float, run_time: float | None = None) -> list[str]:
        """A run raised: every job still in it fails. Returns those jobs."""
        _, run, _ = self._finish(batch_id, now, run_time)
        failed: list[str] = []
        for piece in run.dispatch.slices:
            entry = self._live(piece.job_id, batch_id)
            if entry is not None:
                del self._jobs[piece.job_id]
                self._stats.failed(entry.key)
                failed.append(piece.job_id)
        return failed

    def on_aborted(self, batch_id: int, now: float, run_time: float | None = None) -> list[str]:
        """A run stopped before finishing: its rows go back to the queue. Returns those jobs."""
        executor, run, _ = self._finish(batch_id, now, run_time)
        if run.abort is AbortReason.PREEMPTED:
            executor.chunks.observe_aborted(run.dispatch.batch_key, run.dispatch.rows)
        requeued: list[str] = []
        for piece in run.dispatch.slices:
            entry = self._live(piece.job_id, batch_id)
            if entry is not None:
                entry.in_flight = None
                self._stats.aborted(entry.key)
                requeued.append(piece.job_id)
        return requeued

    # -- looking in -------------------------------------------------------------------------

    def state(self, job_id: str) -> JobState | None:
        """QUEUED or RUNNING while the policy holds the job; None once it has left."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        return JobState.QUEUED if entry.in_flight is None else JobState.RUNNING

    def queue_position(self, job_id: str) -> int | None:
        """1-based place of a queued job among those waiting for its executor: jobs of a more
        urgent class, or of its class and submitted earlier, go first. An estimate — fair
        sharing and aging reorder within a class — but what a waiting client asks to see.
        None once it runs or has left."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.in_flight is not None:
            return None
        ahead = sum(
            1
            for other in self._jobs.values()
            if other.in_flight is None
            and other.spec.device == entry.spec.device
            and (other.rank, other.seq) < (entry.rank, entry.seq)
        )
        return ahead + 1

    def running(self) -> list[Dispatch]:
        return [r.dispatch for e in self._executors.values() for r in e.running.values()]

    def __len__(self) -> int:
        return len(self._jobs)

    def stats(self, now: float) -> SchedulerStats:
        depth: dict[tuple[Priority, str], int] = defaultdict(int)
        running: dict[tuple[Priority, str], int] = defaultdict(int)
        for entry in self._jobs.values():
            (depth if entry.in_flight is None else running)[entry.key] += 1
        executors = [
            ExecutorStats(
                name=name,
                slots=e.slots.slots,
                background_slots=e.slots.background_slots,
                running_batches=len(e.running),
                busy_fraction=e.usage.busy_fraction(now, (r.started for r in e.running.values())),
                chunk_rows=e.chunks.limit,
            )
            for name, e in self._executors.items()
        ]
        return self._stats.snapshot(
            now=now,
            discipline=str(self._config.discipline),
            depth=depth,
            running=running,
            executors=executors,
        )

    # -- inside -----------------------------------------------------------------------------

    def _live(self, job_id: str, batch_id: int) -> _Entry | None:
        entry = self._jobs.get(job_id)
        return entry if entry is not None and entry.in_flight == batch_id else None

    def _finish(
        self, batch_id: int, now: float, run_time: float | None
    ) -> tuple[_Executor, _Run, float]:
        for executor in self._executors.values():
            run = executor.end(batch_id)
            if run is not None:
                spent = now - run.started if run_time is None else run_time
                executor.usage.record(max(run.started, now - spent), now, run.shares)
                return executor, run, spent
        raise InvalidArgument(f"batch {batch_id} is not running")

    def _expire(self, now: float, decisions: Decisions) -> None:
        for entry in [
            e for e in self._jobs.values() if e.deadline is not None and e.deadline <= now
        ]:
            del self._jobs[entry.spec.job_id]
            self._stats.deadline_missed(entry.key)
            stage = "queued" if entry.in_flight is None else "running"
            error = DeadlineExceeded(
                f"job {entry.spec.job_id} missed its {entry.spec.deadline_ms:g} ms deadline"
                f" ({stage})"
            )
            decisions.failures.append(Failure(entry.spec.job_id, error))
            if entry.in_flight is not None:
                abort = self._abort_if_orphaned(entry.in_flight, AbortReason.DEADLINE)
                if abort is not None:
                    decisions.aborts.append(abort)

    def _abort_if_orphaned(self, batch_id: int, reason: AbortReason) -> Abort | None:
        for executor in self._executors.values():
            run = executor.running.get(batch_id)
            if run is None:
                continue
            if run.abort is None and not any(j in self._jobs for j in run.dispatch.job_ids):
                run.abort = reason
                return Abort(batch_id, reason)
        return None

    def _vstart(self, entry: _Entry) -> float:
        return max(self._vtime.get(entry.key, 0.0), self._vclock[entry.spec.priority])

    def _order(self, entry: _Entry, now: float) -> tuple[float, ...]:
        """Sort key, effective rank first (FIFO: rank 0 for all, then arrival)."""
        if self._config.discipline is Discipline.FIFO:
            return (0, entry.seq)
        rank = entry.rank
        interval = self._config.aging_interval
        if interval is not None and rank and now - entry.ready_since >= interval:
            # Aging: each interval waited lifts a job one class; lifted jobs go before
            # the native jobs of their new class, oldest first.
            rank -= min(rank, int((now - entry.ready_since) / interval))
            return (rank, 0, entry.ready_since, entry.seq)
        if rank == 0:  # realtime: earliest deadline first
            deadline = math.inf if entry.deadline is None else entry.deadline
            return (0, 1, deadline, self._vstart(entry), entry.seq)
        return (rank, 1, self._vstart(entry), entry.seq)

    def _capped(self, executor: _Executor, entry: _Entry, now: float) -> bool:
        if not self._caps:
            return False
        running = [(r.started, r.shares) for r in executor.running.values()]
        for target in (_client_target(entry.client), _class_target(entry.spec.priority)):
            cap = self._caps.get((executor.slots.name, target), self._caps.get((None, target)))
            if cap is not None and executor.usage.usage(target, now, running) >= cap:
                self._capped_waiting = True
                return True
        return False

    def _candidates(
        self, executor: _Executor, lane: Lane, now: float
    ) -> list[tuple[tuple[float, ...], _Entry]]:
        """Jobs this lane may take now, best first, with their sort keys."""
        name = executor.slots.name
        found = [
            (self._order(e, now), e)
            for e in self._jobs.values()
            if e.in_flight is None
            and e.spec.device == name
            and executor.accepts(lane, e.spec.priority)
            and not self._capped(executor, e, now)
        ]
        found.sort(key=lambda pair: pair[0])
        return found

    def _next_batch(
        self,
        executor: _Executor,
        lane: Lane,
        now: float,
        reserved: int,
        shared: Collection[str] = (),
    ) -> Dispatch | None:
        candidates = self._candidates(executor, lane, now)
        if not candidates:
            return None  # (before asking for free memory: most lanes have nothing waiting)
        free = None if self._free_memory is None else self._free_memory(executor.slots.name)
        room = None if free is None else free - reserved

        def fits(e: _Entry, used: int) -> bool:
            return room is None or used + e.spec.memory_bytes <= room

        found = next(((k, e) for k, e in candidates if fits(e, 0)), None)
        if found is None:
            return None
        rank, head = found[0][0], found[1]
        priority = self._config.discipline is Discipline.PRIORITY
        cfg = self._config.batching_for(head.spec.model)
        limit = cfg.max_batch_size
        protected = False
        if priority and lane is Lane.FOREGROUND and head.spec.priority is not Priority.REALTIME:
            cost = head.spec.estimated_cost_ms
            plan = executor.chunks.plan(
                head.spec.batch_key,
                now,
                per_row_hint=None if cost is None else cost / 1000.0 / head.spec.rows,
                abortable=head.abortable,
            )
            if plan.hold_until is not None:  # a realtime request is due: keep the slot free
                self._wakeups.append(plan.hold_until)
                return None
            if plan.rows is not None:
                limit = min(limit, plan.rows)
            protected = plan.protected

        # Members and their sizes first: the slices are only made for a batch that goes.
        members = [head]
        sizes = [self._size(head, limit)]
        rows = sizes[0]
        used = head.spec.memory_bytes
        if head.spec.batch_key is not None:
            for order, e in candidates:
                if rows >= limit:
                    break
                if (
                    e is head
                    or e.spec.batch_key != head.spec.batch_key
                    or e.spec.model != head.spec.model
                    or order[0] != rank
                    or not fits(e, used)
                    or (not e.splittable and e.remaining > limit - rows)
                ):
                    continue
                size = self._size(e, limit - rows)
                members.append(e)
                sizes.append(size)
                rows += size
                used += e.spec.memory_bytes

        # Dynamic batching: hold a partial batch while the executor is busy anyway, or while
        # the clients of this key's run that just ended are likely still coming back (a
        # closed loop would otherwise settle at half-size batches). A lone client's last run
        # finished one job, so it is never held on an idle executor; nor is the rest of a
        # job cut into chunks, which finished none; nor what is left of jobs this pass has
        # just shared out among free slots.
        if (
            rows < limit
            and head.spec.batch_key is not None
            and head.spec.batch_key not in shared
            and head.spec.priority is not Priority.REALTIME
            and cfg.max_queue_delay > 0
        ):
            release = None
            if executor.running:
                release = min(e.ready_since for e in members) + cfg.max_queue_delay
            else:
                release = self._returns_due(head.spec.batch_key, members, cfg)
            if release is not None and now < release:
                self._wakeups.append(release)
                return None
        if len(members) > 1:
            # Share the jobs out (whole) among the lane's slots, so they run side by side
            # rather than one running everything while the others idle or soon will.
            share, taken = self._share(executor, lane, head.spec.batch_key, rows, now), 0
            for count, size in enumerate(sizes, 1):
                taken += size
                if taken >= share:
                    members, sizes = members[:count], sizes[:count]
                    break
        slices = [self._slice(e, size) for e, size in zip(members, sizes, strict=True)]
        return self._dispatch(executor, lane, head, members, slices, now, protected=protected)

    @staticmethod
    def _share(
        executor: _Executor, lane: Lane, batch_key: str | None, rows: int, now: float
    ) -> int:
        """The rows of ``rows`` queued ones that this run takes so that the lane's slots,
        the free ones and those running this key that will be free soon, all finish about
        together: a slot that ends its run in t seconds takes t/per_row fewer rows. Taking
        all would make one long run, whose rows wait for the last of them; at 16 clients
        on two single-threaded slots such runs were the slowest 2 % of requests."""
        slots = executor.free(lane)
        busy = [
            r
            for r in executor.running.values()
            if r.dispatch.lane is lane and r.dispatch.batch_key == batch_key
        ]
        # The cost model is fitted (anew after every run that ended) only when a busy slot
        # needs it: with every slot free, the rows are simply split among them.
        cost = executor.chunks.cost(batch_key) if busy else None
        head_starts: list[float] = []
        if cost is not None and (per_row := cost.per_row) > 0:
            head_starts = sorted(
                max(0.0, r.started + cost.overhead + r.dispatch.rows * per_row - now) / per_row
                for r in busy
            )
        total = float(rows)
        for head_start in head_starts:
            # A slot whose run ends after the others would have finished these takes none.
            if head_start >= (total + head_start) / (slots + 1):
                break
            total += head_start
            slots += 1
        return max(1, math.ceil(total / slots))

    def _returns_due(
        self, batch_key: str, members: list[_Entry], cfg: BatchingConfig
    ) -> float | None:
        """Until when to wait for the clients the key's last run answered (just now) to
        come back, while some have not. A client with a job of the key already queued is not
        coming back, it is waiting; so an open-loop backlog is never held."""
        answered, ended = self._last_runs.get(batch_key, (frozenset(), -math.inf))
        if not answered:
            return None
        queued = {e.client for e in self._jobs.values() if e.spec.batch_key == batch_key}
        back = {e.client for e in members if e.ready_since >= ended}
        expected = answered - (queued - back)
        return ended + cfg.max_queue_delay if expected - back else None

    @staticmethod
    def _size(entry: _Entry, limit: int) -> int:
        """How many of the entry's rows a batch with room for ``limit`` more takes."""
        if not entry.splittable:
            return entry.spec.rows
        return max(1, min(limit, entry.remaining))

    @staticmethod
    def _slice(entry: _Entry, size: int) -> Slice:
        start = entry.next_row if entry.splittable else 0
        return Slice(entry.spec.job_id, start, start + size, entry.spec.rows)

    def _dispatch(
        self,
        executor: _Executor,
        lane: Lane,
        head: _Entry,
        members: Sequence[_Entry],
        slices: Sequence[Slice],
        now: float,
        *,
        protected: bool = False,
    ) -> Dispatch:
        batch_id = next(self._batch_ids)
        # Aging can put jobs of several classes in one batch: it counts as the most urgent.
        urgent = min((e.spec.priority for e in members), key=lambda p: p.rank)
        dispatch = Dispatch(
            batch_id=batch_id,
            executor=executor.slots.name,
            lane=lane,
            priority=urgent,
            batch_key=head.spec.batch_key,
            slices=tuple(slices),
            preemptible=not protected
            and urgent is not Priority.REALTIME
            and all(e.abortable for e in members),
        )
        total = dispatch.rows
        shares: dict[str, float] = defaultdict(float)
        for entry, piece in zip(members, slices, strict=True):
            entry.in_flight = batch_id
            if entry.first_dispatch is None:
                entry.first_dispatch = now
                self._stats.first_dispatch(entry.key, now - entry.submitted)
            share = piece.size / total
            shares[_client_target(entry.client)] += share
            shares[_class_target(entry.spec.priority)] += share
            self._charge(entry, piece)
            if entry.blocked_rows:
                executor.chunks.realtime_dispatched(now - entry.ready_since, entry.blocked_rows)
                entry.blocked_rows = 0
        executor.start(batch_id, _Run(dispatch, now, dict(shares)))
        self._stats.batch([e.key for e in members], total)
        return dispatch

    def _charge(self, entry: _Entry, piece: Slice) -> None:
        """Advance the client's virtual time by the cost of the rows it is given."""
        if self._config.discipline is not Discipline.PRIORITY:
            return
        start = self._vstart(entry)
        cost = (entry.spec.estimated_cost_ms or 1.0) * piece.size / entry.spec.rows
        self._vtime[entry.key] = start + cost / self._weights.get(entry.client, 1.0)
        self._vclock[entry.spec.priority] = max(self._vclock[entry.spec.priority], start)

    def _make_way(self, executor: _Executor, now: float, decisions: Decisions) -> None:
        """Realtime work waiting for a foreground slot held by other work: note how long that
        work holds it (for chunk sizing) and, if allowed, abort it to be re-queued."""
        if executor.free(Lane.FOREGROUND) > 0:
            return
        waiting = [
            e
            for e in self._jobs.values()
            if e.in_flight is None
            and e.spec.priority is Priority.REALTIME
            and e.spec.device == executor.slots.name
            and not self._capped(executor, e, now)
        ]
        holders = [
            r
            for r in executor.running.values()
            if r.dispatch.lane is Lane.FOREGROUND and r.dispatch.priority is not Priority.REALTIME
        ]
        if not waiting or not holders:
            return
        held = max(r.dispatch.rows for r in holders)
        for entry in waiting:
            entry.blocked_rows = max(entry.blocked_rows, held)
        if not self._config.preempt or self._config.discipline is not Discipline.PRIORITY:
            return
        pending = sum(1 for r in holders if r.abort is not None)
        victims = sorted(
            (r for r in holders if r.abort is None and r.dispatch.preemptible),
            key=lambda r: r.started,
            reverse=True,  # the latest started has the least work to lose
        )
        for run in victims[: max(0, len(waiting) - pending)]:
            run.abort = AbortReason.PREEMPTED
            self._stats.preemptions += 1
            decisions.aborts.append(Abort(run.dispatch.batch_id, AbortReason.PREEMPTED))
