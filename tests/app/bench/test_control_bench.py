from __future__ import annotations

from ainos.app.bench.control import run_control_bench


def test_control_bench_runs_every_path_side_by_side() -> None:
    result = run_control_bench(calls=20)
    assert [row.path for row in result.rows] == [
        "scheduler, in-process",
        "control plane, embedded",
        "daemon socket, submit+result",
        "daemon socket, bare RPC",
    ]
    for row in result.rows:
        assert row.calls == 20
        assert 0 < row.p50_ms <= row.p99_ms
    document = result.to_dict()
    rows = document["rows"]
    assert isinstance(rows, list)
    assert rows[0]["p50_ratio_to_baseline"] == 1.0
