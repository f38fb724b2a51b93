"""The serving benchmark on a tiny configuration: structure and sanity, never timings; and
its summary (medians, the limit's fault detection, goals) on fixed numbers."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from ainos.app.bench.serving import (
    CASES,
    SAME_SESSION,
    ServingBenchResult,
    ServingRow,
    ServingSettings,
    run_serving_bench,
)


def _row(
    case: str,
    concurrency: int,
    rate: float,
    *,
    repeat: int = 0,
    p99: float = 10.0,
    length: int = 16,
    cpu_seconds: float = 0.5,
) -> ServingRow:
    return ServingRow(
        case=case,
        length=length,
        concurrency=concurrency,
        requests=int(rate),
        seconds=1.0,
        p50_ms=p99 / 2,
        p99_ms=p99,
        mean_batch=1.0,
        cpu_seconds=cpu_seconds,
        other_cpu_fraction=0.0,
        repeat=repeat,
    )


def _result(
    runs: list[ServingRow], lengths: tuple[int, ...] = (16,), cases: str = "aebcd"
) -> ServingBenchResult:
    settings = ServingSettings(
        lengths=lengths, concurrencies=(1, 16), repeats=3, cases=tuple(cases)
    )
    return ServingBenchResult(
        settings=settings,
        variant="cpu-fp32",
        daemon_variant="cpu-fp32",
        intra_op_threads=2,
        vector_max_diff={},
        runs=runs,
    )


def _every_case(limit: float, batcher: float) -> list[ServingRow]:
    runs = []
    for repeat, wobble in enumerate((0.9, 1.0, 1.1)):
        runs.append(_row("b", 2, limit * wobble, repeat=repeat))
        for n in (1, 16):
            runs.append(_row("a", n, 300 * wobble, repeat=repeat, p99=20))
            runs.append(_row("e", n, batcher * wobble, repeat=repeat, p99=8))
            runs.append(_row("c", n, 600 * wobble, repeat=repeat, p99=7))
            runs.append(_row("d", n, 500 * wobble, repeat=repeat, p99=9))
    return runs


def test_the_summary_takes_medians_with_least_and_greatest() -> None:
    result = _result(_every_case(limit=1000, batcher=500))

    cell = result.row("e", 16, 16)
    assert (cell.requests_per_second.median, cell.requests_per_second.low) == (500, 450)
    assert cell.requests_per_second.high == pytest.approx(550)
    assert len(cell.runs) == 3
    assert result.row("b", 16).concurrency == 2
    assert [c.case for c in result.rows if c.length == 16][:1] == ["a"]
    assert result.limit_faults() == []


def test_a_limit_below_a_same_session_case_is_reported_as_a_fault() -> None:
    result = _result(_every_case(limit=400, batcher=500))

    faults = result.limit_faults()

    # (a) at 300 is under the limit; the batcher at 500 above it, at both concurrencies.
    assert {(f.case, f.concurrency) for f in faults} == {("e", 1), ("e", 16)}
    assert all(f.limit_requests_per_second == 400 for f in faults)
    assert "MEASUREMENT FAULT" in faults[0].describe()
    assert json.loads(json.dumps(result.to_dict()))["limit_faults"][0]["case"] == "e"


def test_the_goals_compare_ainos_with_the_batcher_and_the_daemon_with_in_process() -> None:
    goals = {g.what: g for g in _result(_every_case(limit=1000, batcher=500)).goals()}

    over_batcher = goals["(c) req/s / (e) req/s"]
    assert over_batcher.ratio == pytest.approx(1.2)
    assert over_batcher.met
    assert goals["(c) p99 / (e) p99"].ratio == pytest.approx(7 / 8)
    assert goals["(c) p99 / (e) p99"].met
    daemon = goals["(d) req/s / (c) req/s"]
    assert daemon.ratio == pytest.approx(5 / 6)
    assert not daemon.met  # 0.83 < 0.9
    assert "(d) req/s / (b) req/s" in goals


def test_a_lone_request_is_judged_against_the_bare_session() -> None:
    runs = _every_case(limit=1000, batcher=500)
    for repeat in range(3):  # one client: (a) p50 4 ms at 1.0 ms CPU, (c) 4.4 ms at 1.2 ms
        runs.append(_row("a", 1, 250, repeat=repeat, p99=8.0, cpu_seconds=0.25))
        runs.append(_row("c", 1, 227, repeat=repeat, p99=8.8, cpu_seconds=0.2724))
    runs = [r for r in runs if not (r.concurrency == 1 and r.case in "ac" and r.requests > 250)]
    lone = {g.what: g for g in _result(runs).goals() if g.concurrency == 1}

    p50 = lone["(c) p50 / ((a) p50 + 0.5 ms)"]
    assert p50.ratio == pytest.approx(4.4 / 4.5)
    assert p50.met
    cpu = lone["(c) CPU/req / (a) CPU/req"]
    assert cpu.ratio == pytest.approx((0.2724 / 227) / (0.25 / 250))
    assert not cpu.met  # 1.2 > 1.15
    assert "1 client:" not in json.dumps(_result(runs).to_dict())  # the JSON carries numbers


def test_long_texts_are_judged_against_the_batcher_and_the_shared_session() -> None:
    runs = []
    for repeat in range(3):
        for case, rate, p99 in (("a", 60, 300.0), ("e", 55, 250.0), ("c", 58, 280.0)):
            runs.append(_row(case, 16, rate, repeat=repeat, p99=p99, length=128))
    goals = {g.what: g for g in _result(runs, lengths=(128,), cases="aec").goals()}

    assert goals["(c) req/s / (e) req/s"].met
    assert not goals["(c) req/s / (a) req/s"].met  # 58 < 60
    assert goals["(c) p99 / (a) p99"].ratio == pytest.approx(280 / 300)
    assert all(g.length == 128 for g in goals.values())


@pytest.mark.slow  # loads the model in every case process, starts a daemon
def test_a_tiny_run_measures_every_case_in_processes_of_their_own() -> None:
    settings = ServingSettings(
        lengths=(16,),
        concurrencies=(1, 2),
        warmup_s=0.2,
        cell_s=0.3,
        sweep_batches=(1, 4),
        sweep_s=0.1,
        limit_s=0.3,
        repeats=2,
    )
    seen: set[str] = set()

    result = run_serving_bench(
        quick=True, settings=settings, progress=lambda label, _fraction: seen.add(label)
    )

    assert result.variant == result.daemon_variant
    assert set(result.vector_max_diff) == {"c", "d", "e"}
    assert result.vectors_verified
    cells = {(cell.case, cell.concurrency) for cell in result.rows if cell.case != "b"}
    assert cells == {(case, n) for case in "aecd" for n in (1, 2)}
    assert [cell.case for cell in result.rows].count("b") == 1
    for cell in result.rows:
        assert cell.length == 16
        assert len(cell.runs) == 2  # one per round, each from a process of its own
    for run in result.runs:
        assert run.requests > 0, run
        assert 0 < run.p50_ms <= run.p99_ms
        assert run.cpu_seconds > 0
    assert {run.repeat for run in result.runs} == {0, 1}
    assert all(run.mean_batch in (1.0, 4.0) for run in result.runs if run.case == "b")
    for case in "ecd":  # counted by the batcher, read from the batch-size histograms
        batch = result.row(case, 16, 2).mean_batch
        assert batch is not None
        assert batch.low >= 1
    layouts = [1] if result.intra_op_threads == 1 else [1, result.intra_op_threads]
    assert [(p.side_by_side, p.batch) for p in result.sweep] == [
        (n, b) for _ in range(2) for n in layouts for b in (1, 4)
    ]
    # Only the lone request's goals: the others are judged at 16 clients.
    assert {(g.concurrency, g.what.split()[1]) for g in result.goals()} == {
        (1, "p50"),
        (1, "CPU/req"),
    }
    assert any(label.startswith("(e)") for label in seen)

    # The limit is never printed below a same-session case without the fault said.
    limit = result.row("b", 16).requests_per_second.median
    faulty = {(f.case, f.concurrency) for f in result.limit_faults()}
    for cell in result.rows:
        if cell.case in SAME_SESSION and cell.requests_per_second.median > limit:
            assert (cell.case, cell.concurrency) in faulty

    document = json.loads(json.dumps(result.to_dict()))
    assert document["benchmark"] == "serving"
    assert document["cases"] == CASES
    assert len(document["rows"]) == len(result.rows)
    assert len(document["runs"]) == len(result.runs)
    for row in document["rows"]:
        assert row["ratio_to_raw_limit"] is not None
        assert set(row["requests_per_second"]) == {"median", "low", "high"}
    assert document["limit_faults"] == [asdict(f) for f in result.limit_faults()]
