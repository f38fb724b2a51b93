"""SchedulerStats as Prometheus text exposition lines (``ainos_scheduler_`` prefix)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ainos.protocol.scheduler import LatencySummary, QueueStats, SchedulerStats

__all__ = ["render_prometheus"]

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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {PREFIX}{name} {help_text}")
        self.lines.append(f"# TYPE {PREFIX}{name} {kind}")

    def sample(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.lines.append(f"{PREFIX}{name}{_labels(labels)} {_number(value)}")


def _scoped(out: _Writer, scope: str, groups: Iterable[tuple[str, QueueStats]]) -> None:
    """One family per metric for ``scope`` ("class" or "client"), one sample per group."""
    rows = list(groups)
    if not rows:
        return
    for name, help_text, get in _GAUGES:
        out.family(f"{scope}_{name}", "gauge", help_text)
        for label, q in rows:
            out.sample(f"{scope}_{name}", {scope: label}, get(q))
    for name, help_text, count in _COUNTERS:
        out.family(f"{scope}_{name}_total", "counter", help_text)
        for label, q in rows:
            out.sample(f"{scope}_{name}_total", {scope: label}, count(q))
    for name, help_text, timing in _TIMINGS:
        metric = f"{scope}_{name}"
        out.family(metric, "summary", help_text + " Quantiles over a recent window.")
        for label, q in rows:
            summary = timing(q)
            for quantile, attr in _QUANTILES:
                value = getattr(summary, attr)
                if value is not None:
                    out.sample(metric, {scope: label, "quantile": quantile}, value / 1000.0)
            out.sample(f"{metric}_sum", {scope: label}, summary.sum_ms / 1000.0)
            out.sample(f"{metric}_count", {scope: label}, summary.count)
    metric = f"{scope}_batch_size"
    out.family(metric, "histogram", "Rows per dispatched batch.")
    for label, q in rows:
        cumulative = 0
        sizes = sorted(q.batch_sizes.items())
        for bound in _BATCH_BUCKETS:
            cumulative = sum(n for size, n in sizes if size <= bound)
            out.sample(f"{metric}_bucket", {scope: label, "le": str(float(bound))}, cumulative)
        total = sum(n for _, n in sizes)
        out.sample(f"{metric}_bucket", {scope: label, "le": "+Inf"}, total)
        out.sample(f"{metric}_sum", {scope: label}, sum(size * n for size, n in sizes))
        out.sample(f"{metric}_count", {scope: label}, total)


def render_prometheus(stats: SchedulerStats) -> str:
    """Text exposition format 0.0.4, one family per metric, ending in a newline."""
    out = _Writer()
    out.family("scheduled_tasks_total", "counter", "Jobs dispatched at least once.")
    out.sample("scheduled_tasks_total", {}, stats.scheduled_tasks)
    out.family("preemptions_total", "counter", "Runs aborted to make way for realtime work.")
    out.sample("preemptions_total", {}, stats.preemptions_total)
    out.family("queued", "gauge", "Jobs waiting, all classes.")
    out.sample("queued", {}, stats.queued)
    out.family("running", "gauge", "Jobs in a run, all classes.")
    out.sample("running", {}, stats.running)
    if stats.average_latency_ms is not None:
        out.family("average_latency_seconds", "gauge", "Mean latency over a recent window.")
        out.sample("average_latency_seconds", {}, stats.average_latency_ms / 1000.0)
    _scoped(out, "class", ((str(p), q) for p, q in stats.classes.items()))
    _scoped(out, "client", stats.clients.items())
    if stats.executors:
        out.family("executor_busy_ratio", "gauge", "Busy slot time over the utilisation window.")
        for e in stats.executors:
            out.sample("executor_busy_ratio", {"executor": e.name}, e.busy_fraction)
        out.family("executor_running_batches", "gauge", "Runs in flight.")
        for e in stats.executors:
            out.sample("executor_running_batches", {"executor": e.name}, e.running_batches)
        bounded = [e for e in stats.executors if e.chunk_rows is not None]
        if bounded:
            out.family("executor_chunk_rows", "gauge", "Current bound on rows per chunk.")
            for e in bounded:
                out.sample("executor_chunk_rows", {"executor": e.name}, e.chunk_rows or 0)
    return "\n".join(out.lines) + "\n"
