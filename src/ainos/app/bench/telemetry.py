"""What watching the machine costs: the telemetry sampler's own CPU time.

Each configuration runs for the same wall time in this process, side by side with a
baseline: a thread that wakes at the same rate and does nothing, which is the floor any
periodic sampler pays. The sampler's cost is read from its thread's CPU clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ainos.kernel.nvml import Nvml
from ainos.kernel.telemetry import Sampler

Progress = Callable[[str, float], None]  # (configuration, fraction done)

TARGET_PERCENT_OF_CORE = 1.0


@dataclass(frozen=True)
class SamplerCost:
    configuration: str
    rate_hz: float
    wall_seconds: float
    ticks: int
    cpu_seconds: float

    @property
    def percent_of_core(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def microseconds_per_tick(self) -> float:
        return 1e6 * self.cpu_seconds / self.ticks if self.ticks else 0.0


@dataclass(frozen=True)
class TelemetryBenchResult:
    rows: list[SamplerCost] = field(default_factory=list)
    gpus: int = 0

    def baseline_for(self, rate_hz: float) -> SamplerCost | None:
        for row in self.rows:
            if row.configuration == "idle ticker" and row.rate_hz == rate_hz:
                return row
        return None

    def to_dict(self) -> dict[str, object]:
        rows = []
        for row in self.rows:
            baseline = self.baseline_for(row.rate_hz)
            rows.append(
                {
                    **asdict(row),
                    "percent_of_core": row.percent_of_core,
                    "microseconds_per_tick": row.microseconds_per_tick,
                    "ratio_to_idle_ticker": (
                        row.cpu_seconds / baseline.cpu_seconds
                        if baseline is not None and baseline.cpu_seconds > 0
                        else None
                    ),
                }
            )
        return {
            "benchmark": "telemetry",
            "gpus": self.gpus,
            "target_percent_of_core_at_10hz": TARGET_PERCENT_OF_CORE,
            "rows": rows,
        }


def _idle_ticker(rate_hz: float, seconds: float, progress: Progress) -> SamplerCost:
    period = 1.0 / rate_hz
    stop = threading.Event()
    result: dict[str, float] = {}

    def tick() -> None:
        started = time.thread_time()
        ticks = 0
        next_due = time.monotonic() + period
        while not stop.wait(max(0.0, next_due - time.monotonic())):
            ticks += 1
            next_due += period
        result["cpu"] = time.thread_time() - started
        result["ticks"] = ticks

    thread = threading.Thread(target=tick, name="ainos-bench-ticker")
    wall = _run_for(seconds, f"idle ticker {rate_hz:g} Hz", progress, thread.start)
    stop.set()
    thread.join()
    return SamplerCost("idle ticker", rate_hz, wall, int(result["ticks"]), result["cpu"])


def _sampler(rate_hz: float, seconds: float, nvml: Nvml | None, progress: Progress) -> SamplerCost:
    sampler = Sampler(rate_hz=rate_hz, nvml=nvml)
    wall = _run_for(seconds, f"sampler {rate_hz:g} Hz", progress, sampler.start)
    sampler.stop()
    return SamplerCost("sampler", rate_hz, wall, sampler.samples_taken, sampler.sample_cpu_seconds)


def _run_for(seconds: float, label: str, progress: Progress, start: Callable[[], object]) -> float:
    began = time.monotonic()
    start()
    while (elapsed := time.monotonic() - began) < seconds:
        progress(label, elapsed / seconds)
        time.sleep(min(0.25, seconds - elapsed))
    progress(label, 1.0)
    return time.monotonic() - began


def run_telemetry_bench(
    *,
    seconds_per_run: float,
    rates_hz: tuple[float, ...] = (10.0, 100.0),
    nvml: Nvml | None = None,
    progress: Progress | None = None,
) -> TelemetryBenchResult:
    """Measure the sampler at each rate against an idle ticker at the same rate."""
    report = progress or (lambda _label, _fraction: None)
    rows = []
    for rate in rates_hz:
        rows.append(_idle_ticker(rate, seconds_per_run, report))
        rows.append(_sampler(rate, seconds_per_run, nvml, report))
    return TelemetryBenchResult(rows=rows, gpus=nvml.gpu_count if nvml is not None else 0)
