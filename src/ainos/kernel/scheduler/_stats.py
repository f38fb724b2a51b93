"""Counters and bounded timing windows per class and per client, snapshot as SchedulerStats."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ainos.protocol.scheduler import (
    ExecutorStats,
    LatencySummary,
    Priority,
    QueueStats,
    SchedulerStats,
)

__all__ = ["StatsRecorder"]


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ordered, non-empty sample."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class _Window:
    def __init__(self, size: int) -> None:
        self._recent: deque[float] = deque(maxlen=size)
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        ms = seconds * 1000.0
        self._recent.append(ms)
        self.count += 1
        self.total += ms

    def mean(self) -> float | None:
        return sum(self._recent) / len(self._recent) if self._recent else None

    def summary(self) -> LatencySummary:
        if not self._recent:
            return LatencySummary(count=self.count, sum_ms=self.total)
        ordered = sorted(self._recent)
        return LatencySummary(
            count=self.count,
            sum_ms=self.total,
            p50_ms=_percentile(ordered, 0.50),
            p95_ms=_percentile(ordered, 0.95),
            p99_ms=_percentile(ordered, 0.99),
        )


@dataclass
class _Counters:
    size: int
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    aborted: int = 0
    rejected: int = 0
    deadline_misses: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.wait = _Window(self.size)
        self.run = _Window(self.size)
        self.latency = _Window(self.size)

    def record(self, depth: int, running: int) -> QueueStats:
        return QueueStats(
            queue_depth=depth,
            running=running,
            submitted_total=self.submitted,
            completed_total=self.completed,
            failed_total=self.failed,
            cancelled_total=self.cancelled,
            aborted_total=self.aborted,
            rejected_total=self.rejected,
            deadline_misses_total=self.deadline_misses,
            wait=self.wait.summary(),
            run=self.run.summary(),
            latency=self.latency.summary(),
            batch_sizes=dict(sorted(self.batch_sizes.items())),
        )


Key = tuple[Priority, str]


MAX_CLIENTS = 512  # clients whose statistics are kept


class StatsRecorder:
    """Everything is recorded twice: under the job's class and under its client."""

    def __init__(self, window: int) -> None:
        self._window = window
        self._classes = {p: _Counters(window) for p in Priority}
        self._clients: OrderedDict[str, _Counters] = OrderedDict()
        self._latency = _Window(window)
        self.scheduled_tasks = 0
        self.preemptions = 0

    def _client(self, name: str) -> _Counters:
        counters = self._clients.get(name)
        if counters is None:
            counters = self._clients[name] = _Counters(self._window)
            if len(self._clients) > MAX_CLIENTS:
                # A long-lived daemon meets endless short-lived clients (pids): forget the one
                # heard from least recently rather than grow without bound.
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(name)
        return counters

    def _pair(self, key: Key) -> tuple[_Counters, _Counters]:
        return self._classes[key[0]], self._client(key[1])

    def submitted(self, key: Key) -> None:
        for c in self._pair(key):
            c.submitted += 1

    def rejected(self, key: Key) -> None:
        for c in self._pair(key):
            c.rejected += 1

    def first_dispatch(self, key: Key, waited: float) -> None:
        self.scheduled_tasks += 1
        for c in self._pair(key):
            c.wait.add(waited)

    def batch(self, keys: Sequence[Key], rows: int) -> None:
        """One dispatched batch of ``rows`` rows, counted once per class and client in it."""
        for priority in {k[0] for k in keys}:
            self._classes[priority].batch_sizes[rows] += 1
        for client in {k[1] for k in keys}:
            self._client(client).batch_sizes[rows] += 1

    def completed(self, key: Key, run_time: float, latency: float) -> None:
        self._latency.add(latency)
        for c in self._pair(key):
            c.completed += 1
            c.run.add(run_time)
            c.latency.add(latency)

    def failed(self, key: Key) -> None:
        for c in self._pair(key):
            c.failed += 1

    def cancelled(self, key: Key) -> None:
        for c in self._pair(key):
            c.cancelled += 1

    def aborted(self, key: Key) -> None:
        for c in self._pair(key):
            c.aborted += 1

    def deadline_missed(self, key: Key) -> None:
        for c in self._pair(key):
            c.deadline_misses += 1

    def snapshot(
        self,
        *,
        now: float,
        discipline: str,
        depth: Mapping[Key, int],
        running: Mapping[Key, int],
        executors: Sequence[ExecutorStats],
    ) -> SchedulerStats:
        def total(counts: Mapping[Key, int], pick: int, name: object) -> int:
            return sum(n for k, n in counts.items() if k[pick] == name)

        mean = self._latency.mean()
        return SchedulerStats(
            timestamp=now,
            discipline=discipline,
            scheduled_tasks=self.scheduled_tasks,
            average_latency_ms=mean,
            queued=sum(depth.values()),
            running=sum(running.values()),
            preemptions_total=self.preemptions,
            classes={
                p: c.record(total(depth, 0, p), total(running, 0, p))
                for p, c in self._classes.items()
            },
            clients={
                name: c.record(total(depth, 1, name), total(running, 1, name))
                for name, c in sorted(self._clients.items())
            },
            executors=list(executors),
        )
