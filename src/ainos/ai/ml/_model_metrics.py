"""Per-model serving metrics: requests by outcome, queue and compute time, batch sizes,
session runs by width."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from ainos.kernel.telemetry import MetricFamily

__all__ = ["ModelMetrics"]

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass
class _Model:
    requests: Counter[str] = field(default_factory=Counter)
    queue_seconds: float = 0.0
    compute_seconds: float = 0.0
    timed: int = 0
    tokens: int = 0
    batches: Counter[int] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)  # by width: "all" cores or "one"


class ModelMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}

    def _model(self, alias: str) -> _Model:
        return self._models.setdefault(alias, _Model())

    def request(
        self,
        alias: str,
        outcome: str,
        queue_s: float = 0.0,
        compute_s: float = 0.0,
        tokens: int = 0,
    ) -> None:
        with self._lock:
            model = self._model(alias)
            model.requests[outcome] += 1
            if outcome == "ok":
                model.queue_seconds += queue_s
                model.compute_seconds += compute_s
                model.timed += 1
                model.tokens += tokens

    def batch(self, alias: str, rows: int, side_by_side: bool = False) -> None:
        """A session run of ``rows`` rows, on one thread beside others or on every core."""
        with self._lock:
            model = self._model(alias)
            model.batches[rows] += 1
            model.runs["one" if side_by_side else "all"] += 1

    def families(self) -> list[MetricFamily]:
        requests = MetricFamily("ainos_model_requests_total", "counter", "Requests by outcome.")
        queue = MetricFamily(
            "ainos_model_queue_seconds", "summary", "Time requests waited for the model."
        )
        compute = MetricFamily(
            "ainos_model_compute_seconds", "summary", "Time from admission to the result."
        )
        tokens = MetricFamily("ainos_model_tokens_total", "counter", "Input tokens processed.")
        batches = MetricFamily(
            "ainos_model_batch_size", "histogram", "Rows per session run (merged requests)."
        )
        runs = MetricFamily(
            "ainos_model_runs_total",
            "counter",
            "Session runs by cores used: all (a run alone) or one (runs side by side).",
        )
        with self._lock:
            for alias, model in sorted(self._models.items()):
                for width, count in sorted(model.runs.items()):
                    runs.add(count, model=alias, cores=width)
                for outcome, count in sorted(model.requests.items()):
                    requests.add(count, model=alias, outcome=outcome)
                queue.add(model.queue_seconds, "_sum", model=alias)
                queue.add(model.timed, "_count", model=alias)
                compute.add(model.compute_seconds, "_sum", model=alias)
                compute.add(model.timed, "_count", model=alias)
                tokens.add(model.tokens, model=alias)
                total = sum(model.batches.values())
                for bound in _BATCH_BUCKETS:
                    within = sum(n for rows, n in model.batches.items() if rows <= bound)
                    batches.add(within, "_bucket", model=alias, le=str(float(bound)))
                batches.add(total, "_bucket", model=alias, le="+Inf")
                batches.add(sum(rows * n for rows, n in model.batches.items()), "_sum", model=alias)
                batches.add(total, "_count", model=alias)
        return [requests, queue, compute, tokens, batches, runs]
