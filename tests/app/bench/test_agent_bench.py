"""The agent benchmark on the smallest settings: structure and sanity, never speed."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
from pathlib import Path

import pytest

from ainos.app.agent import ConversationStore
from ainos.app.bench.agent import (
    ANALYZE_PROMPT,
    GOAL_OVERHEAD_MS,
    TOOLS,
    AgentBenchSettings,
    bench_home,
    build_fixture_repo,
    run_agent_bench,
    run_analysis,
    run_overhead,
)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _head(repo: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_fixture_repository_is_the_same_every_run(tmp_path: Path) -> None:
    first = build_fixture_repo(tmp_path / "one")
    second = build_fixture_repo(tmp_path / "two")

    def tree(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    assert tree(first) == tree(second)
    assert len(tree(first)) >= 30
    assert {Path(name).suffix for name in tree(first)} >= {".py", ".ts", ".sh", ".md", ".toml"}
    assert b"TODO" in b"".join(tree(first).values())
    assert _head(first) == _head(second)  # same files, author and date: the same commit


def test_bench_home_points_ainos_home_away_and_back(ainos_home: Path) -> None:
    with bench_home() as scratch:
        assert os.environ["AINOS_HOME"] == str(scratch / "home")
    assert os.environ["AINOS_HOME"] == str(ainos_home)
    assert not scratch.exists()


def test_overhead_rows_side_by_side_with_the_direct_calls(tmp_path: Path, ainos_home: Path) -> None:
    seen: list[tuple[str, float]] = []

    result = run_overhead(
        calls=3,
        repeats=2,
        progress=lambda label, fraction: seen.append((label, fraction)),
        scratch=tmp_path,
    )

    assert (result.calls, result.repeats) == (3, 2)
    assert [(row.tool, row.store) for row in result.rows] == [
        (tool, store) for tool in TOOLS for store in (False, True)
    ]
    for row in result.rows:
        assert row.calls == 3
        assert row.repeats == 2
        assert len(row.loop_s) == len(row.fake_s) == len(row.direct_s) == 2
        assert all(_positive(s) for s in (*row.loop_s, *row.direct_s)), row
        assert all(0 < fake < loop for fake, loop in zip(row.fake_s, row.loop_s, strict=True))
        # Every figure comes from the raw seconds.
        assert row.loop_ms == pytest.approx(1000 * statistics.median(row.loop_s) / 3)
        assert row.fake_ms == pytest.approx(1000 * statistics.median(row.fake_s) / 3)
        assert row.direct_ms == pytest.approx(1000 * statistics.median(row.direct_s) / 3)
        assert row.overhead_ms == pytest.approx(row.loop_ms - row.direct_ms)
        assert row.net_overhead_ms == pytest.approx(row.loop_ms - row.fake_ms - row.direct_ms)
        assert row.ratio == pytest.approx(row.loop_ms / row.direct_ms)
        assert row.net_ratio == pytest.approx((row.loop_ms - row.fake_ms) / row.direct_ms)
        assert row.met == (row.net_overhead_ms <= GOAL_OVERHEAD_MS)
        assert 0 <= row.other_cpu_fraction <= 1
    # A tool's two rows are measured against the same direct calls.
    for tool in TOOLS:
        assert result.row(tool, False).direct_s == result.row(tool, True).direct_s
    assert seen[-1] == (seen[0][0], 1.0)

    # The store rows really wrote: a thread per scripted turn (warm-up and repeats), every
    # call's events in it.
    with ConversationStore(ainos_home / "data" / "conversations.sqlite3") as store:
        threads = store.list_threads()
        assert len(threads) == len(TOOLS) * (1 + 2)
        events = store.events(threads[0].id)
    assert sum(1 for e in events if e.data["type"] == "item.started") == 3

    document = json.loads(json.dumps(result.to_dict()))
    assert document["goal_overhead_ms_per_call"] == GOAL_OVERHEAD_MS
    first = document["rows"][0]
    assert first["loop_ms_per_call"] == pytest.approx(result.rows[0].loop_ms)
    assert first["ratio_to_direct"] == pytest.approx(result.rows[0].ratio)
    assert first["goal_met"] in (True, False)


def test_the_whole_document_without_the_model(ainos_home: Path) -> None:
    settings = AgentBenchSettings(analysis=False, calls=2, repeats=1)

    result = run_agent_bench(quick=True, settings=settings)

    document = json.loads(json.dumps(result.to_dict()))
    assert document["benchmark"] == "agent"
    assert document["machine"]["cpu_count"] >= 1
    assert isinstance(document["machine"]["cpu_model"], str)
    assert document["analysis"] is None
    assert len(document["overhead"]["rows"]) == 2 * len(TOOLS)
    assert os.environ["AINOS_HOME"] == str(ainos_home)  # set back after the run


@pytest.mark.slow  # loads the embedded model; a turn takes seconds (minutes on a busy machine)
@pytest.mark.timeout(900)
def test_analyze_this_codebase_end_to_end(ainos_home: Path) -> None:
    from ainos.ai.ml import DEFAULT_CHAT_MODEL

    result = run_analysis(runs=1)

    assert result.model == DEFAULT_CHAT_MODEL
    assert result.prompt == ANALYZE_PROMPT
    assert result.fixture_files >= 30
    assert _positive(result.load_s)
    [run] = result.runs
    assert run.completed
    assert run.answer_chars > 0
    assert _positive(run.wall_s)
    assert _positive(run.setup_s)
    assert 0 < run.model_s <= run.wall_s
    assert 0 < run.tool_s <= run.wall_s
    assert run.model_calls >= 1
    assert run.tool_calls >= 1
    assert run.input_tokens > 0
    assert run.output_tokens > 0
    assert run.model_share == pytest.approx(run.model_s / run.wall_s)
    assert run.other_s == pytest.approx(run.wall_s - run.model_s - run.tool_s)
    spreads = result.spreads()
    assert spreads["model_share"].median == pytest.approx(run.model_share)
    assert spreads["wall_ms"].low == spreads["wall_ms"].high == pytest.approx(1000 * run.wall_s)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["runs"][0]["model_share"] == pytest.approx(run.model_share)
    assert set(document["summary"]) >= {"wall_ms", "model_ms", "model_share", "tool_calls"}
