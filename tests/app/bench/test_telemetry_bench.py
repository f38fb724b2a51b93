from __future__ import annotations

import pytest

from ainos.app.bench.telemetry import FAKE_NVML, run_telemetry_bench
from ainos.kernel._fake_nvml import FakePynvml
from ainos.kernel.nvml import Nvml

QUICK_FUNCTIONS = {
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetCurrentClocksEventReasons",
}
SLOW_FUNCTIONS = {
    "nvmlDeviceGetPcieThroughput",
    "nvmlDeviceGetTotalEccErrors",
    "nvmlDeviceGetEnforcedPowerLimit",
}


def test_bench_measures_sampler_plain_loop_and_idle_ticker_side_by_side() -> None:
    progress: list[tuple[str, float]] = []
    result = run_telemetry_bench(
        seconds_per_run=0.3, rates_hz=(50.0,), quick=True, progress=lambda *p: progress.append(p)
    )
    # No GPU here: the fake NVML stands in, and the result says so.
    assert (result.nvml, result.gpus) == (FAKE_NVML, 1)
    ticker, plain, sampler = result.rows
    assert [r.configuration for r in result.rows] == ["idle ticker", "plain loop", "sampler"]
    assert ticker.ticks > 0
    assert plain.ticks > 0
    assert sampler.ticks > 0
    assert sampler.cpu_seconds >= sampler.slow_field_cpu_seconds > 0
    assert plain.slow_field_cpu_seconds == 0
    assert sampler.wall_seconds >= 0.3
    assert ("sampler 50 Hz", 1.0) in progress
    assert ("plain loop 50 Hz", 1.0) in progress

    document = result.to_dict()
    assert document["nvml"] == FAKE_NVML
    rows = document["rows"]
    assert isinstance(rows, list)
    assert rows[0]["ratio_to_idle_ticker"] == 1.0
    assert rows[1]["cpu_per_tick_ratio_to_plain_loop"] == 1.0
    assert rows[2]["cpu_per_tick_ratio_to_plain_loop"] == pytest.approx(
        sampler.microseconds_per_tick / plain.microseconds_per_tick
    )
    assert rows[2]["tick_rate_ratio_to_plain_loop"] == pytest.approx(
        sampler.ticks_per_second / plain.ticks_per_second
    )
    assert rows[2]["percent_of_core"] == sampler.percent_of_core
    assert result.tick_gpu_microseconds_per_gpu > 0


def test_bench_times_every_nvml_call_the_sampler_makes() -> None:
    fake = FakePynvml()
    result = run_telemetry_bench(seconds_per_run=0.1, rates_hz=(20.0,), nvml=Nvml(fake), quick=True)
    assert result.nvml == "nvml"
    costs = {cost.function: cost for cost in result.calls}
    assert set(costs) == QUICK_FUNCTIONS | SLOW_FUNCTIONS
    assert {f for f, cost in costs.items() if cost.slow_field} == SLOW_FUNCTIONS
    assert costs["nvmlDeviceGetClockInfo"].calls == 2 * costs["nvmlDeviceGetMemoryInfo"].calls
    assert costs["nvmlDeviceGetPcieThroughput"].calls == 2 * 5  # rx and tx, five rounds
    document = result.to_dict()
    calls = document["calls"]
    assert isinstance(calls, list)
    assert len(calls) == len(costs)
