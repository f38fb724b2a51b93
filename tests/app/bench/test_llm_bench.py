"""The LLM benchmark on the smallest settings: structure and sanity, never speed."""

from __future__ import annotations

import json
import math

from ainos.app.bench.llm import MODES, LlmBenchSettings, run_llm_bench

TINY = LlmBenchSettings(
    max_tokens=8,
    repetitions=1,
    parallel=2,
    realtime_requests=1,
    realtime_max_tokens=4,
    batch_max_tokens=32,
)


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def test_a_tiny_run_measures_every_mode_side_by_side() -> None:
    seen: set[str] = set()

    result = run_llm_bench(
        quick=True, settings=TINY, progress=lambda label, _fraction: seen.add(label)
    )

    cells = [(row.mode, row.case, row.priorities) for row in result.rows]
    assert cells == [
        ("raw", "single", "1 interactive"),
        ("ainos", "single", "1 interactive"),
        ("daemon", "single", "1 interactive"),
        ("raw", "parallel", "2 interactive"),
        ("ainos", "parallel", "1 interactive + 1 batch"),
        ("ainos", "parallel", "2 interactive"),
        ("daemon", "parallel", "1 interactive + 1 batch"),
    ]
    for row in result.rows:
        assert row.repetitions == 1
        assert row.clients == (1 if row.case == "single" else 2)
        assert _positive(row.ttft_ms), row
        assert _positive(row.total_tokens_per_s), row
        assert 0 < row.tokens_per_request <= TINY.max_tokens, row
        assert row.decode_tokens_per_s is None or _positive(row.decode_tokens_per_s), row
        assert 0 <= row.other_cpu_fraction <= 1
    assert [p.mode for p in result.priority] == ["raw", "ainos"]
    for row in result.priority:
        assert row.batch_streams == 2
        assert _positive(row.idle_ttft_ms), row
        assert row.loaded_ttft_ms <= row.loaded_max_ttft_ms
        assert _positive(row.loaded_max_ttft_ms), row
    assert set(result.replies) == set(MODES)
    assert all(result.replies.values())
    goals = {(goal.what, goal.mode) for goal in result.goals()}
    assert goals == {
        (what, mode)
        for what in ("speed to first token", "decode tokens/s", "concurrent tokens/s")
        for mode in ("ainos", "daemon")
    }
    assert all(_positive(goal.ratio) for goal in result.goals())
    assert {"one request at a time", "requests at once", "ainos: realtime vs batch"} <= seen

    document = json.loads(json.dumps(result.to_dict()))
    assert document["benchmark"] == "llm"
    assert document["modes"] == MODES
    assert len(document["rows"]) == len(result.rows)
    assert document["rows"][0]["ratio_to_raw"] == 1.0
    assert len(document["goals"]) == 6


def test_without_the_daemon_only_in_process_modes_run() -> None:
    settings = LlmBenchSettings(
        max_tokens=4,
        repetitions=1,
        parallel=2,
        realtime_requests=1,
        realtime_max_tokens=2,
        batch_max_tokens=16,
        daemon=False,
    )
    result = run_llm_bench(quick=True, settings=settings)
    assert {row.mode for row in result.rows} == {"raw", "ainos"}
    assert {goal.mode for goal in result.goals()} == {"ainos"}
