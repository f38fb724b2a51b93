"""What the control plane costs: a no-op job through the daemon's socket vs in-process.

Side by side in one run: the same no-op submitted (1) straight to a scheduler in this
process, (2) through the embedded client (the method table, no socket), (3) through a real
daemon started for the run (``ainos serve`` in a child process). The bare JSON-RPC round
trip (``version``) is measured too, to separate transport from scheduling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ainos.app.bench._daemon import running_daemon
from ainos.kernel.control import Client, EmbeddedClient, KernelServices, ServicesConfig
from ainos.kernel.scheduler import CpuExecutor, Job, Scheduler, new_job_id
from ainos.protocol.scheduler import JobSpec

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class LatencyRow:
    path: str
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


@dataclass(frozen=True)
class ControlBenchResult:
    rows: list[LatencyRow] = field(default_factory=list)

    def row(self, path: str) -> LatencyRow:
        return next(r for r in self.rows if r.path == path)

    def to_dict(self) -> dict[str, object]:
        baseline = self.rows[0].p50_ms if self.rows else 0.0
        return {
            "benchmark": "control",
            "baseline": self.rows[0].path if self.rows else None,
            "rows": [
                {
                    "path": r.path,
                    "calls": r.calls,
                    "p50_ms": r.p50_ms,
                    "p99_ms": r.p99_ms,
                    "mean_ms": r.mean_ms,
                    "p50_ratio_to_baseline": r.p50_ms / baseline if baseline else None,
                }
                for r in self.rows
            ],
        }


def _measure(
    path: str, calls: int, operation: Callable[[], object], progress: Progress
) -> LatencyRow:
    for _ in range(min(50, calls)):  # warm up: threads, caches, first-call imports
        operation()
    samples = np.empty(calls)
    for index in range(calls):
        started = time.perf_counter()
        operation()
        samples[index] = time.perf_counter() - started
        if index % 100 == 0:
            progress(path, index / calls)
    progress(path, 1.0)
    ms = samples * 1000
    return LatencyRow(
        path,
        calls,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        float(ms.mean()),
    )


def run_control_bench(*, calls: int, progress: Progress | None = None) -> ControlBenchResult:
    report = progress or (lambda _label, _fraction: None)
    rows = []

    with Scheduler([CpuExecutor("cpu:0")]) as scheduler:

        def direct() -> None:
            job: Job[None, None] = Job(
                spec=JobSpec(job_id=new_job_id()), work=lambda _i, _t: None, inputs=None
            )
            scheduler.submit(job).result()

        rows.append(_measure("scheduler, in-process", calls, direct, report))

    config = ServicesConfig(pool_bytes=8 * 1024 * 1024, lock_pool=False)
    with KernelServices(config) as services, EmbeddedClient(services) as embedded:
        rows.append(
            _measure("control plane, embedded", calls, lambda: embedded.run("noop"), report)
        )

    with running_daemon() as daemon, Client(daemon.socket_path) as client:
        rows.append(
            _measure("daemon socket, submit+result", calls, lambda: client.run("noop"), report)
        )
        rows.append(_measure("daemon socket, bare RPC", calls, client.version, report))
    return ControlBenchResult(rows)
