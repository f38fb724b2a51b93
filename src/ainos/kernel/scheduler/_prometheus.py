"""SchedulerStats as Prometheus metric families (``ainos_scheduler_`` prefix)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ainos.kernel.telemetry import MetricFamily, MetricType, render
from ainos.protocol.scheduler import LatencySummary, QueueStats, SchedulerStats

__all__ = ["render_prometheus", "scheduler_families"]

PREFIX = "ainos_scheduler_"
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_QUANTILES = (("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))
_GAUGES: tuple[tuple[str, str, Callable[[QueueStats], int]], ...] = (
    ("queue_depth", "Jobs waiting.", lambda q: q.queue_depth),
    ("running", "Jobs in a run.", lambda q: q.running),
)
_COUNTERS: tuple[tuple[str, str, Callable[[QueueStats], int]], ...] = (
    ("jobs_submitted", "Jobs admitted.", lambda q: q.submitted_total),
    ("jobs_completed", "Jobs finished with a result.", lambda q: q.completed_total),
    ("jobs_failed", "Jobs whose work raised.", lambda q: q.failed_total),
    ("jobs_cancelled", "Jobs cancelled by their client.", lambda q: q.cancelled_total),
    ("jobs_aborted", "Runs of a job aborted to make way and re-queued.", lambda q: q.aborted_total),
    ("jobs_rejected", "Jobs turned away by admission control.", lambda q: q.rejected_total),
    (
        "deadline_misses",
        "Jobs failed because their deadline passed.",
        lambda q: q.deadline_misses_total,
    ),
)
_TIMINGS: tuple[tuple[str, str, Callable[[QueueStats], LatencySummary]], ...] = (
    ("wait_seconds", "Time from submission to first dispatch.", lambda q: q.wait),
    ("run_seconds", "Device time of a job's runs.", lambda q: q.run),
    ("latency_seconds", "Time from submission to completion.", lambda q: q.latency),
)


def _family(name: str, kind: MetricType, help_text: str) -> MetricFamily:
    return MetricFamily(f"{PREFIX}{name}", kind, help_text)


def _scoped(scope: str, groups: Iterable[tuple[str, QueueStats]]) -> list[MetricFamily]:
    """One family per metric for ``scope`` ("class" or "client"), one sample per group."""
    rows = list(groups)
    if not rows:
        return []
    families = []
    for name, help_text, get in _GAUGES:
        gauge = _family(f"{scope}_{name}", "gauge", help_text)
        for label, q in rows:
            gauge.add(get(q), **{scope: label})
        families.append(gauge)
    for name, help_text, count in _COUNTERS:
        counter = _family(f"{scope}_{name}_total", "counter", help_text)
        for label, q in rows:
            counter.add(count(q), **{scope: label})
        families.append(counter)
    for name, help_text, timing in _TIMINGS:
        summary = _family(
            f"{scope}_{name}", "summary", help_text + " Quantiles over a recent window."
        )
        for label, q in rows:
            values = timing(q)
            for quantile, attr in _QUANTILES:
                value = getattr(values, attr)
                if value is not None:
                    summary.add(value / 1000.0, **{scope: label, "quantile": quantile})
            summary.add(values.sum_ms / 1000.0, "_sum", **{scope: label})
            summary.add(values.count, "_count", **{scope: label})
        families.append(summary)
    histogram = _family(f"{scope}_batch_size", "histogram", "Rows per dispatched batch.")
    for label, q in rows:
        sizes = sorted(q.batch_sizes.items())
        for bound in _BATCH_BUCKETS:
            cumulative = sum(n for size, n in sizes if size <= bound)
            histogram.add(cumulative, "_bucket", **{scope: label, "le": str(float(bound))})
        total = sum(n for _, n in sizes)
        histogram.add(total, "_bucket", **{scope: label, "le": "+Inf"})
        histogram.add(sum(size * n for size, n in sizes), "_sum", **{scope: label})
        histogram.add(total, "_count", **{scope: label})
    families.append(histogram)
    return families


def scheduler_families(stats: SchedulerStats) -> list[MetricFamily]:
    families = [
        _family("scheduled_tasks_total", "counter", "Jobs dispatched at least once.").add(
            stats.scheduled_tasks
        ),
        _family("preemptions_total", "counter", "Runs aborted to make way for realtime work.").add(
            stats.preemptions_total
        ),
        _family("queued", "gauge", "Jobs waiting, all classes.").add(stats.queued),
        _family("running", "gauge", "Jobs in a run, all classes.").add(stats.running),
    ]
    if stats.average_latency_ms is not None:
        families.append(
            _family("average_latency_seconds", "gauge", "Mean latency over a recent window.").add(
                stats.average_latency_ms / 1000.0
            )
        )
    families += _scoped("class", ((str(p), q) for p, q in stats.classes.items()))
    families += _scoped("client", stats.clients.items())
    busy = _family("executor_busy_ratio", "gauge", "Busy slot time over the utilisation window.")
    running = _family("executor_running_batches", "gauge", "Runs in flight.")
    chunk = _family("executor_chunk_rows", "gauge", "Current bound on rows per chunk.")
    for executor in stats.executors:
        busy.add(executor.busy_fraction, executor=executor.name)
        running.add(executor.running_batches, executor=executor.name)
        if executor.chunk_rows is not None:
            chunk.add(executor.chunk_rows, executor=executor.name)
    return [*families, busy, running, chunk]


def render_prometheus(stats: SchedulerStats) -> str:
    """Text exposition format 0.0.4, one family per metric, ending in a newline."""
    return render(scheduler_families(stats))
