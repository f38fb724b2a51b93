from __future__ import annotations

from ainos.app.bench.telemetry import run_telemetry_bench


def test_bench_measures_sampler_and_baseline_side_by_side() -> None:
    progress: list[tuple[str, float]] = []
    result = run_telemetry_bench(
        seconds_per_run=0.3, rates_hz=(50.0,), progress=lambda *p: progress.append(p)
    )
    ticker, sampler = result.rows
    assert (ticker.configuration, sampler.configuration) == ("idle ticker", "sampler")
    assert ticker.ticks > 0
    assert sampler.ticks > 0
    assert sampler.cpu_seconds > 0
    assert sampler.wall_seconds >= 0.3
    document = result.to_dict()
    rows = document["rows"]
    assert isinstance(rows, list)
    assert rows[0]["ratio_to_idle_ticker"] == 1.0
    assert rows[1]["percent_of_core"] == sampler.percent_of_core
    assert ("sampler 50 Hz", 1.0) in progress
