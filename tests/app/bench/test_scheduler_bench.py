"""The scheduler benchmark on a tiny configuration: structure and sanity, never timings."""

from __future__ import annotations

import json
from typing import Any, cast

import numpy as np
import onnxruntime as ort

from ainos.app.bench.scheduler import _Clients, build_synthetic_model, run_scheduler_bench
from ainos.kernel.scheduler import session_options


def test_a_tiny_run_reports_every_scenario_side_by_side() -> None:
    model = build_synthetic_model(hidden=32, layers=2, tokens=4)

    def make_session(threads: int | None) -> Any:
        options = session_options(intra_op_threads=threads)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def make_inputs(rows: int) -> dict[str, np.ndarray[Any, Any]]:
        return {"x": np.ones((rows, 4, 32), np.float32)}

    result = run_scheduler_bench(
        quick=True,
        session_factory=make_session,
        make_inputs=make_inputs,
        realtime_rate=40.0,
        batch_rows=8,
        seconds=0.4,
    )
    names = [s.name for s in result.scenarios]
    assert names == ["batch alone", "idle", "fifo", "priority", "priority+os"]
    by_name = {s.name: s for s in result.scenarios}
    assert by_name["batch alone"].realtime_requests == 0
    assert by_name["batch alone"].batch_fraction == 1.0
    assert by_name["idle"].batch_rows_per_second is None
    for name in ("idle", "fifo", "priority", "priority+os"):
        scenario = by_name[name]
        assert scenario.realtime_requests > 0
        assert scenario.realtime_failed == 0
        assert scenario.batch_failed == 0
        assert scenario.realtime_p50_ms is not None
        assert scenario.realtime_p99_ms is not None
        assert scenario.realtime_p50_ms <= scenario.realtime_p99_ms
    for name in ("fifo", "priority", "priority+os"):
        assert (by_name[name].batch_rows_per_second or 0) > 0
    assert result.batch_alone_rows_per_second > 0
    assert result.idle_realtime_p99_ms == by_name["idle"].realtime_p99_ms
    assert result.os_priority  # what the OS granted, or why not
    table = result.table()
    assert [row["scenario"] for row in table] == names
    assert json.loads(json.dumps(result.to_dict()))["scenarios"][0]["name"] == "batch alone"


def test_batch_throughput_counts_between_completions_not_whole_jobs_per_run() -> None:
    def clients(done_at: list[float], seconds: float = 8.0) -> _Clients:
        measured = _Clients(cast(Any, None), cast(Any, object()), None, cast(Any, None), 64, 20.0)
        measured.seconds = seconds
        measured.batch_done_at = done_at
        return measured

    # Jobs finishing every 1.5 s: 64 / 1.5 rows/s, whichever way the run's edges cut them.
    assert clients([10.5, 9.0, 12.0, 13.5]).batch_rate() == 64 * 3 / 4.5
    assert clients([9.0, 10.5]).batch_rate() == 64 * 2 / 8.0  # too few: done over run time
    assert _Clients(cast(Any, None), None, None, cast(Any, None), 64, 20.0).batch_rate() is None
