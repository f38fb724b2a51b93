"""What watching the machine costs: the telemetry sampler's own CPU time and tick rate.

Three configurations run one after the other for the same wall time at each rate, in this
process:

- an *idle ticker*: a thread that wakes at the rate and does nothing, the floor any
  periodic sampler pays;
- the *plain loop*: the sampler a user would write, reading every field (PCIe throughput,
  ECC counters and power limit included) in every tick, as ainos itself used to;
- the *sampler*: quick fields in the tick, slow ones on their own thread and cadence.

CPU time is read from each thread's own clock. Before them, every NVML call the sampler
makes is timed through the same reader (``Nvml.on_call``). Without an NVIDIA GPU the bench
runs on the fake NVML, whose calls take the H200's measured latencies: its figures show the
sampler's structure (who waits for what), not a GPU's cost.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

from ainos.kernel.nvml import SLOW_FIELDS, Nvml, SlowField, SlowReading
from ainos.kernel.telemetry import CpuReader, Sampler
from ainos.protocol import StatsSnapshot

Progress = Callable[[str, float], None]  # (configuration, fraction done)

TARGET_PERCENT_OF_CORE = 1.0  # at 10 Hz
TARGET_TICK_MS_PER_GPU = 0.1  # CPU per tick per GPU
TARGET_TICKS_PER_SECOND_AT_100HZ = 95.0  # with one GPU

IDLE, PLAIN_LOOP, SAMPLER = "idle ticker", "plain loop", "sampler"
FAKE_NVML = "fake NVML (H200 latencies)"


@dataclass(frozen=True)
class SamplerCost:
    configuration: str
    rate_hz: float
    wall_seconds: float
    ticks: int
    cpu_seconds: float  # every thread of the configuration
    slow_field_cpu_seconds: float = 0.0  # the sampler's slow-field thread, included above

    @property
    def ticks_per_second(self) -> float:
        return self.ticks / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def percent_of_core(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def microseconds_per_tick(self) -> float:
        return 1e6 * self.cpu_seconds / self.ticks if self.ticks else 0.0


@dataclass(frozen=True)
class CallCost:
    """One NVML function as the sampler's reader calls it."""

    function: str
    calls: int
    median_microseconds: float
    slow_field: bool  # read by the slow-field thread, not in the tick


@dataclass(frozen=True)
class TelemetryBenchResult:
    rows: list[SamplerCost] = field(default_factory=list)
    calls: list[CallCost] = field(default_factory=list)
    gpus: int = 0
    nvml: str = "nvml"  # "nvml" (a real GPU) or FAKE_NVML
    # CPU of a tick's GPU part (the sampler's quick reads and the records), per GPU.
    tick_gpu_microseconds_per_gpu: float = 0.0

    def row(self, configuration: str, rate_hz: float) -> SamplerCost | None:
        for row in self.rows:
            if row.configuration == configuration and row.rate_hz == rate_hz:
                return row
        return None

    def to_dict(self) -> dict[str, object]:
        rows = []
        for row in self.rows:
            idle, plain = self.row(IDLE, row.rate_hz), self.row(PLAIN_LOOP, row.rate_hz)
            rows.append(
                {
                    **asdict(row),
                    "ticks_per_second": row.ticks_per_second,
                    "percent_of_core": row.percent_of_core,
                    "microseconds_per_tick": row.microseconds_per_tick,
                    "ratio_to_idle_ticker": (
                        row.cpu_seconds / idle.cpu_seconds
                        if idle is not None and idle.cpu_seconds > 0
                        else None
                    ),
                    # CPU per tick against the plain loop's, and ticks delivered against its.
                    "cpu_per_tick_ratio_to_plain_loop": (
                        row.microseconds_per_tick / plain.microseconds_per_tick
                        if plain is not None and plain.microseconds_per_tick > 0
                        else None
                    ),
                    "tick_rate_ratio_to_plain_loop": (
                        row.ticks_per_second / plain.ticks_per_second
                        if plain is not None and plain.ticks_per_second > 0
                        else None
                    ),
                }
            )
        return {
            "benchmark": "telemetry",
            "gpus": self.gpus,
            "nvml": self.nvml,
            "tick_gpu_microseconds_per_gpu": self.tick_gpu_microseconds_per_gpu,
            "target_percent_of_core_at_10hz": TARGET_PERCENT_OF_CORE,
            "target_tick_ms_per_gpu": TARGET_TICK_MS_PER_GPU,
            "target_ticks_per_second_at_100hz": TARGET_TICKS_PER_SECOND_AT_100HZ,
            "calls": [asdict(cost) for cost in self.calls],
            "rows": rows,
        }


def _ticking(
    rate_hz: float, seconds: float, label: str, progress: Progress, tick: Callable[[], object]
) -> tuple[float, int, float]:
    """Run ``tick`` at ``rate_hz`` on a thread for ``seconds``: (wall, ticks, thread CPU).

    The same deadline loop as the sampler's: deadlines advance from the start, and after a
    stall the loop skips ahead instead of bursting.
    """
    period = 1.0 / rate_hz
    stop = threading.Event()
    result: dict[str, float] = {}

    def run() -> None:
        started = time.thread_time()
        ticks = 0
        next_due = time.monotonic() + period
        while not stop.wait(max(0.0, next_due - time.monotonic())):
            tick()
            ticks += 1
            next_due += period
            now = time.monotonic()
            if next_due < now:
                next_due = now + period
        result["cpu"] = time.thread_time() - started
        result["ticks"] = ticks

    thread = threading.Thread(target=run, name="ainos-bench-ticker")
    wall = _run_for(seconds, label, progress, thread.start)
    stop.set()
    thread.join()
    return wall, int(result["ticks"]), result["cpu"]


def _idle_ticker(rate_hz: float, seconds: float, progress: Progress) -> SamplerCost:
    wall, ticks, cpu = _ticking(rate_hz, seconds, f"{IDLE} {rate_hz:g} Hz", progress, lambda: None)
    return SamplerCost(IDLE, rate_hz, wall, ticks, cpu)


def _plain_loop(rate_hz: float, seconds: float, nvml: Nvml, progress: Progress) -> SamplerCost:
    cpu_reader = CpuReader()

    def tick() -> StatsSnapshot:
        return StatsSnapshot(
            timestamp=time.time(),
            cpu=cpu_reader.read(),
            gpus=nvml.sample(),  # every field, the slow ones too
        )

    wall, ticks, cpu = _ticking(rate_hz, seconds, f"{PLAIN_LOOP} {rate_hz:g} Hz", progress, tick)
    return SamplerCost(PLAIN_LOOP, rate_hz, wall, ticks, cpu)


def _sampler(rate_hz: float, seconds: float, nvml: Nvml, progress: Progress) -> SamplerCost:
    sampler = Sampler(rate_hz=rate_hz, nvml=nvml)
    wall = _run_for(seconds, f"{SAMPLER} {rate_hz:g} Hz", progress, sampler.start)
    sampler.stop()
    return SamplerCost(
        SAMPLER,
        rate_hz,
        wall,
        sampler.samples_taken,
        sampler.sample_cpu_seconds,
        sampler.slow_field_cpu_seconds,
    )


def _run_for(seconds: float, label: str, progress: Progress, start: Callable[[], object]) -> float:
    began = time.monotonic()
    start()
    while (elapsed := time.monotonic() - began) < seconds:
        progress(label, elapsed / seconds)
        time.sleep(min(0.25, seconds - elapsed))
    progress(label, 1.0)
    return time.monotonic() - began


def _tick_gpu_cpu(nvml: Nvml, ticks: int) -> float:
    """CPU seconds per GPU of one tick's GPU part, as the sampler takes it."""
    latest = _no_slow_readings(nvml)
    started = time.thread_time()
    for _ in range(ticks):
        nvml.sample(latest)
    return (time.thread_time() - started) / ticks / max(1, nvml.gpu_count)


def _no_slow_readings(nvml: Nvml) -> list[Mapping[SlowField, SlowReading]]:
    return [{} for _ in range(nvml.gpu_count)]


def _call_costs(nvml: Nvml, ticks: int, slow_reads: int, progress: Progress) -> list[CallCost]:
    """Time every NVML call of ``ticks`` samples' quick reads and ``slow_reads`` of each slow
    field, through the reader the sampler uses."""
    seconds: dict[str, list[float]] = defaultdict(list)
    latest = _no_slow_readings(nvml)
    total = ticks + slow_reads
    nvml.on_call = lambda function, took: seconds[function].append(took)
    try:
        for done in range(ticks):
            if done % 50 == 0:
                progress("NVML calls", done / total)
            nvml.sample(latest)
        quick = set(seconds)
        for done in range(slow_reads):
            progress("NVML calls", (ticks + done) / total)
            for index in range(nvml.gpu_count):
                for name in SLOW_FIELDS:
                    nvml.read_slow_field(index, name)
    finally:
        nvml.on_call = None
    progress("NVML calls", 1.0)
    costs = [
        CallCost(
            function=function,
            calls=len(times),
            median_microseconds=1e6 * statistics.median(times),
            slow_field=function not in quick,
        )
        for function, times in seconds.items()
    ]
    return sorted(costs, key=lambda cost: (cost.slow_field, cost.median_microseconds))


def run_telemetry_bench(
    *,
    seconds_per_run: float,
    rates_hz: tuple[float, ...] = (10.0, 100.0),
    nvml: Nvml | None = None,
    quick: bool = False,
    progress: Progress | None = None,
) -> TelemetryBenchResult:
    """Measure the sampler at each rate against the plain loop and an idle ticker at the same
    rate. Without ``nvml`` (no GPU here) the fake NVML stands in, and the result says so."""
    report = progress or (lambda _label, _fraction: None)
    if nvml is not None:
        return _measure(nvml, "nvml", seconds_per_run, rates_hz, quick, report)
    from ainos.kernel._fake_nvml import FakePynvml  # only when no GPU is there

    fake = Nvml(FakePynvml())
    try:
        return _measure(fake, FAKE_NVML, seconds_per_run, rates_hz, quick, report)
    finally:
        fake.close()


def _measure(
    nvml: Nvml,
    source: str,
    seconds_per_run: float,
    rates_hz: tuple[float, ...],
    quick: bool,
    progress: Progress,
) -> TelemetryBenchResult:
    calls = _call_costs(nvml, 200 if quick else 2000, 5 if quick else 25, progress)
    tick_gpu = _tick_gpu_cpu(nvml, 500 if quick else 5000)
    rows = []
    for rate in rates_hz:
        rows.append(_idle_ticker(rate, seconds_per_run, progress))
        rows.append(_plain_loop(rate, seconds_per_run, nvml, progress))
        rows.append(_sampler(rate, seconds_per_run, nvml, progress))
    return TelemetryBenchResult(
        rows=rows,
        calls=calls,
        gpus=nvml.gpu_count,
        nvml=source,
        tick_gpu_microseconds_per_gpu=1e6 * tick_gpu,
    )
