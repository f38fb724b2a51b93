"""The serving benchmark on a tiny configuration: structure and sanity, never timings."""

from __future__ import annotations

import json

import pytest

from ainos.app.bench.serving import CASES, ServingSettings, run_serving_bench

pytestmark = pytest.mark.slow  # loads the model, starts a daemon


def test_a_tiny_run_measures_every_case_side_by_side() -> None:
    settings = ServingSettings(
        lengths=(16,),
        concurrencies=(1, 2),
        warmup_s=0.2,
        cell_s=0.3,
        sweep_batches=(1, 4),
        sweep_s=0.1,
    )
    seen: set[str] = set()

    result = run_serving_bench(
        quick=True, settings=settings, progress=lambda label, _fraction: seen.add(label)
    )

    assert result.variant == result.daemon_variant
    assert set(result.vector_max_diff) == {"c", "d"}
    assert result.vectors_verified
    cells = {(row.case, row.concurrency) for row in result.rows if row.case != "b"}
    assert cells == {(case, n) for case in "acd" for n in (1, 2)}
    assert [row.case for row in result.rows].count("b") == 1
    for row in result.rows:
        assert row.length == 16
        assert row.requests > 0, row
        assert 0 < row.p50_ms <= row.p99_ms
        assert row.cpu_seconds > 0
    assert result.row("b", 16).mean_batch in (1.0, 4.0)
    for case in "cd":  # read from the batch-size histograms: at least one row per run
        batch = result.row(case, 16, 2).mean_batch
        assert batch is not None
        assert batch >= 1
    layouts = [1] if result.intra_op_threads == 1 else [1, result.intra_op_threads]
    assert [(p.side_by_side, p.batch) for p in result.sweep] == [
        (n, b) for n in layouts for b in (1, 4)
    ]
    assert result.goals() == []  # the goal is judged at 16 clients only
    assert "(c) 16 tok x2" in seen

    document = json.loads(json.dumps(result.to_dict()))
    assert document["benchmark"] == "serving"
    assert document["cases"] == CASES
    assert len(document["rows"]) == len(result.rows)
