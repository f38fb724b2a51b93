"""The supervisor benchmark: its pure parts on fixed numbers, and one run of each case with
the model played by a fake OpenAI-compatible provider — structure and sanity, never speed."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from tests.app.mcp_server.fake_provider import FakeChatProvider, Reply, write_agent_config

from ainos.app.bench._supervisor_case import _read_events, run_error
from ainos.app.bench.agent import fixture_files
from ainos.app.bench.supervisor import (
    CASES,
    EXEC_PROMPTS,
    FULL_AGENTS,
    PLANTED_FILES,
    QUICK_AGENTS,
    REQUEST,
    AgentRun,
    CaseRun,
    SupervisorBenchResult,
    SupervisorBenchSettings,
    build_workspace,
    case_order,
    measure_case,
    summarize,
)
from ainos.app.supervisor.checks import find_todos, scan_dangerous_calls, scan_secrets
from ainos.errors import AinosError


def _head(repo: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _agent(name: str, first_token: float | None, *, status: str = "completed") -> AgentRun:
    since = None if first_token is None else first_token + 10.0
    return AgentRun(
        agent=name,
        status=status,
        seconds=20.0,
        first_token_s=first_token,
        first_token_since_request_s=since,
        output_tokens=100,
    )


def _run(case: str, repeat: int, wall: float, firsts: tuple[float | None, ...]) -> CaseRun:
    agents = tuple(_agent(f"agent-{i}", first) for i, first in enumerate(firsts))
    return CaseRun(
        case=case,
        repeat=repeat,
        wall_s=wall,
        work_s=wall - 1.0,
        cpu_s=2 * wall,
        peak_rss_bytes=int(wall) * 1_000_000,
        agents=agents,
        model="smollm2-135m-instruct" if case != "exec" else None,
        other_cpu_fraction=0.01 * repeat,
    )


# Three rounds: parallel fastest, its range apart from sequential's, touching exec's.
_RUNS = [
    _run("parallel", 0, 30.0, (2.0, 4.0, 9.0)),
    _run("sequential", 0, 50.0, (1.0, 1.5, 2.0)),
    _run("exec", 0, 34.0, (None, None, None)),
    _run("parallel", 1, 32.0, (3.0, 5.0, 7.0)),
    _run("sequential", 1, 52.0, (1.0, 1.0, 3.0)),
    _run("exec", 1, 40.0, (None, None, None)),
    _run("parallel", 2, 35.0, (2.0, 2.0, 8.0)),
    _run("sequential", 2, 49.0, (2.0, 2.0, 2.0)),
    _run("exec", 2, 44.0, (None, None, None)),
]


def test_the_cases_take_turns_a_different_one_first_each_round() -> None:
    order = case_order(CASES, 4)

    assert CASES == ("parallel", "sequential", "exec")
    assert [case for _, case in order] == [
        *("parallel", "sequential", "exec"),
        *("sequential", "exec", "parallel"),
        *("exec", "parallel", "sequential"),
        *("parallel", "sequential", "exec"),
    ]
    for repeat in range(4):
        assert sorted(c for r, c in order if r == repeat) == sorted(CASES)
    assert [r for r, _ in order] == sorted(r for r, _ in order)
    assert case_order(("parallel",), 2) == [(0, "parallel"), (1, "parallel")]


def test_the_settings_full_and_quick() -> None:
    full, quick = SupervisorBenchSettings(), SupervisorBenchSettings.quick()

    assert (full.agents, full.repeats) == (FULL_AGENTS, 3)
    assert (quick.agents, quick.repeats) == (QUICK_AGENTS, 2)
    assert quick.agents == ("code-reviewer", "security-auditor")
    assert set(FULL_AGENTS) == set(EXEC_PROMPTS)
    full.check()
    with pytest.raises(AinosError, match="agents must be some of"):
        SupervisorBenchSettings(agents=("nobody",)).check()
    with pytest.raises(AinosError, match="repeats must be 1 or more"):
        SupervisorBenchSettings(repeats=0).check()


def test_the_workspace_holds_a_secret_a_dangerous_call_and_todos(tmp_path: Path) -> None:
    first = build_workspace(tmp_path / "one")
    second = build_workspace(tmp_path / "two")

    assert _head(first) == _head(second)  # the same commit every run
    assert not set(PLANTED_FILES) & set(fixture_files())  # beside the fixture, not over it
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=first, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # the planted file is committed too
    [secret] = scan_secrets(first)
    assert (secret.path, secret.severity) == ("src/ledgerline/bank.py", "high")
    assert "lk_live" not in secret.message[8:]  # masked
    assert [f.path for f in scan_dangerous_calls(first)] == ["src/ledgerline/bank.py"]
    todos = find_todos(first)
    assert "src/ledgerline/bank.py" in {f.path for f in todos}
    assert len(todos) > 1  # the fixture's own as well


def test_the_summaries_come_from_the_runs() -> None:
    [parallel, sequential, exec_] = summarize(_RUNS)

    assert [s.case for s in (parallel, sequential, exec_)] == list(CASES)
    assert parallel.wall_s.median == 32.0
    assert (parallel.wall_s.low, parallel.wall_s.high) == (30.0, 35.0)
    assert parallel.ratio_to_parallel == 1.0
    assert sequential.ratio_to_parallel == pytest.approx(50.0 / 32.0)
    assert exec_.ratio_to_parallel == pytest.approx(40.0 / 32.0)
    assert parallel.work_s.median == 31.0
    assert parallel.cpu_s.median == 64.0
    assert parallel.peak_rss_bytes.high == 35_000_000
    # First tokens: per run the max and the median over the agents, then over the runs.
    assert [r.first_token_max_s for r in parallel.runs] == [9.0, 7.0, 8.0]
    assert [r.first_token_median_s for r in parallel.runs] == [4.0, 5.0, 2.0]
    assert parallel.first_token_max_s is not None
    assert parallel.first_token_median_s is not None
    assert (parallel.first_token_max_s.median, parallel.first_token_max_s.low) == (8.0, 7.0)
    assert parallel.first_token_median_s.median == 4.0
    assert sequential.first_token_max_s is not None
    assert sequential.first_token_max_s.median == 2.0
    assert parallel.first_token_since_request_max_s is not None
    assert parallel.first_token_since_request_max_s.median == 18.0
    assert exec_.first_token_max_s is None  # no first token is measured for a process
    assert exec_.first_token_median_s is None
    assert (parallel.completed, parallel.attempted) == (9, 9)
    assert parallel.output_tokens.median == 300
    assert [r.tokens_per_s for r in parallel.runs] == pytest.approx([300 / 29, 300 / 31, 300 / 34])
    assert parallel.tokens_per_s.median == pytest.approx(300 / 31)
    assert parallel.other_cpu_fraction == pytest.approx(0.02)


def test_no_parallel_run_no_ratio() -> None:
    [sequential] = summarize([r for r in _RUNS if r.case == "sequential"])

    assert sequential.ratio_to_parallel is None
    assert sequential.wall_s.median == statistics.median([50.0, 52.0, 49.0])


def test_the_verdict_names_the_winner_from_the_figures() -> None:
    result = SupervisorBenchResult(
        settings=SupervisorBenchSettings(agents=("code-reviewer",) * 3),
        cpu_count=2,
        cpu_model="test",
        runs=list(_RUNS),
    )

    assert result.winner() == "parallel"
    [first, overlap, first_tokens] = result.verdict()
    assert first.startswith("parallel finished first: median wall 32.0 s")
    assert "exec 40.0 s (1.25x)" in first
    assert "sequential 50.0 s (1.56x)" in first
    assert overlap.startswith("the wall-time ranges of parallel and exec overlap")
    assert first_tokens == (
        "slowest first token from its sub-agent's start: parallel 8.0 s, sequential 2.0 s; "
        "the last sub-agent's first token from the request: parallel 18.0 s, sequential 12.0 s"
    )

    # Another winner, a failed sub-agent: said as measured.
    slow = [replace(r, wall_s=r.wall_s + 100) if r.case == "parallel" else r for r in _RUNS]
    failed = _agent("broken", None, status="failed")
    slow[1] = replace(slow[1], agents=(*slow[1].agents, failed))
    result = SupervisorBenchResult(result.settings, 2, "test", slow)
    assert result.winner() == "exec"
    lines = result.verdict()
    assert lines[0].startswith("exec finished first")
    assert "sequential: 1 of 10 sub-agent runs did not complete" in lines
    assert not any("generated different amounts" in line for line in lines)

    # A case that generated much less than another: said, with the medians.
    terse = [
        replace(r, agents=tuple(replace(a, output_tokens=20) for a in r.agents))
        if r.case == "sequential"
        else r
        for r in _RUNS
    ]
    lines = SupervisorBenchResult(result.settings, 2, "test", terse).verdict()
    assert (
        "the cases generated different amounts (median tokens out: parallel 300, exec 300, "
        "sequential 60): the model samples, so weigh tok/s beside the wall time"
    ) in lines


def test_the_json_document() -> None:
    settings = SupervisorBenchSettings.quick()
    result = SupervisorBenchResult(settings=settings, cpu_count=2, cpu_model="test", runs=_RUNS)

    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON

    assert document["benchmark"] == "supervisor"
    assert document["machine"] == {"cpu_count": 2, "cpu_model": "test"}
    assert document["settings"]["agents"] == list(QUICK_AGENTS)
    assert document["settings"]["repeats"] == 2
    assert document["model"] == "smollm2-135m-instruct"
    assert document["request"] == REQUEST
    assert document["exec_prompts"] == {a: EXEC_PROMPTS[a] for a in QUICK_AGENTS}
    assert document["order"][:3] == [[0, "parallel"], [0, "sequential"], [0, "exec"]]
    assert document["winner"] == "parallel"
    assert document["verdict"] == result.verdict()
    cases = {c["case"]: c for c in document["cases"]}
    assert list(cases) == list(CASES)
    parallel = cases["parallel"]
    assert parallel["wall_s"] == {"median": 32.0, "low": 30.0, "high": 35.0}
    assert parallel["ratio_to_parallel"] == 1.0
    assert cases["sequential"]["ratio_to_parallel"] == pytest.approx(50 / 32)
    assert parallel["first_token_max_s"]["median"] == 8.0
    assert parallel["first_token_median_s"]["median"] == 4.0
    assert cases["exec"]["first_token_max_s"] is None
    assert set(parallel) >= {
        "work_s",
        "cpu_s",
        "peak_rss_bytes",
        "output_tokens",
        "tokens_per_s",
        "completed",
        "attempted",
    }
    [run, *_] = parallel["runs"]
    assert run["first_token_max_s"] == 9.0
    assert run["agents"][0]["first_token_s"] == 2.0


def test_an_exec_processes_events_are_read(tmp_path: Path) -> None:
    events = [
        {"type": "thread.started", "thread_id": "t"},
        {"type": "item.completed", "item": {"id": "item_0", "type": "mcp_tool_call"}},
        {"type": "item.completed", "item": {"id": "item_1", "type": "command_execution"}},
        {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message", "text": "ok"}},
        {"type": "turn.completed", "usage": {"input_tokens": 50, "output_tokens": 7}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\nnot json\n")

    found = _read_events(path)

    assert found == {
        "completed": True,
        "input_tokens": 50,
        "output_tokens": 7,
        "tool_calls": 2,
        "answer_chars": 2,
        "error": None,
    }
    path.write_text(json.dumps({"type": "turn.failed", "error": {"message": "no model"}}))
    assert _read_events(path)["error"] == "no model"
    assert _read_events(tmp_path / "missing.jsonl")["completed"] is False


def test_why_a_run_failed(tmp_path: Path) -> None:
    jsonl, stderr = tmp_path / "events.jsonl", tmp_path / "stderr"
    started = json.dumps({"type": "turn.started"})
    jsonl.write_text(json.dumps({"type": "thread.started"}) + "\n" + started + "\n")
    stderr.write_text("warming up\nainos: error: no model\n")
    events = _read_events(jsonl)
    assert run_error(0, events, jsonl, stderr) == f"no turn.completed event; the last: {started}"
    assert run_error(1, events, jsonl, stderr) == "ainos: error: no model"
    assert run_error(2, events, jsonl, tmp_path / "none") == "exit code 2"
    failed = {**events, "error": "the model is gone"}
    assert run_error(0, failed, jsonl, stderr) == "the model is gone"
    done = {**events, "completed": True}
    assert run_error(0, done, jsonl, stderr) is None


def test_the_table_shows_every_case() -> None:
    from rich.console import Console

    from ainos.app.cli._bench import _supervisor_table

    result = SupervisorBenchResult(SupervisorBenchSettings.quick(), 2, "test", list(_RUNS))
    console = Console(width=120, record=True)

    console.print(_supervisor_table(result))

    text = console.export_text()
    for case in CASES:
        assert case in text
    assert "smollm2-135m-instruct" in text
    assert "1.56" in text  # sequential's wall / parallel's
    assert "30.0-35.0" in text  # parallel's wall, least-greatest
    assert "7.0-9.0" in text  # its slowest first token's
    assert REQUEST in text


def test_the_command_documents_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "bench", "supervisor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )

    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout
    assert "--json" in done.stdout
    assert "ainos exec" in done.stdout


# -- one run of each case, the model a fake ---------------------------------------------------


@pytest.fixture
def fake_model(ainos_home: Path) -> Iterator[FakeChatProvider]:
    """The configuration in this test's AINOS_HOME (which the case processes inherit) names a
    fake provider: every reply is one short answer."""
    provider = FakeChatProvider(default=Reply("The key in bank.py matters most.")).start()
    write_agent_config(ainos_home, provider.url)
    yield provider
    provider.stop()


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


# Real processes (a case process; for exec one per agent), about a second each.
@pytest.mark.parametrize("case", CASES)
def test_one_case_in_its_own_process(
    case: str, tmp_path: Path, fake_model: FakeChatProvider
) -> None:
    repo = build_workspace(tmp_path / "workspace")
    steps: list[tuple[int, int]] = []

    run = measure_case(
        case, repo, QUICK_AGENTS, repeat=1, on_step=lambda d, t: steps.append((d, t))
    )

    assert (run.case, run.repeat) == (case, 1)
    assert [a.agent for a in run.agents] == list(QUICK_AGENTS)
    assert run.completed == len(QUICK_AGENTS), [(a.agent, a.status, a.error) for a in run.agents]
    assert _positive(run.wall_s)
    assert 0 < run.work_s < run.wall_s  # the process's start and end around the work
    assert _positive(run.cpu_s)
    assert run.peak_rss_bytes > 10 * 1024 * 1024
    assert 0 <= run.other_cpu_fraction <= 1
    assert steps[-1] == (2, 2)
    assert len(fake_model.requests) >= len(QUICK_AGENTS)  # every agent asked the model
    for agent in run.agents:
        assert 0 < agent.seconds <= run.work_s
        assert agent.error is None
    if case == "exec":
        assert run.model is None
        assert all(a.exit_code == 0 for a in run.agents)
        assert all(a.output_tokens > 0 for a in run.agents)
        assert sum(a.peak_rss_bytes or 0 for a in run.agents) < run.peak_rss_bytes
        assert {a.first_token_s for a in run.agents} == {None}
        asked = json.dumps([r["messages"] for r in fake_model.requests])
        assert all(EXEC_PROMPTS[agent] in asked for agent in QUICK_AGENTS)
    else:
        assert run.model == "fake-model"
        for agent in run.agents:
            assert agent.first_token_s is not None
            assert 0 < agent.first_token_s <= agent.seconds
            assert agent.first_token_since_request_s is not None
            assert agent.first_token_since_request_s >= agent.first_token_s
        security = next(a for a in run.agents if a.agent == "security-auditor")
        assert security.findings is not None
        assert security.findings >= 2  # the secret, the shell call
        assert run.first_token_max_s == max(a.first_token_s or 0 for a in run.agents)


def test_a_failing_case_says_why(tmp_path: Path, fake_model: FakeChatProvider) -> None:
    with pytest.raises(AinosError, match="the sequential case failed"):
        measure_case("sequential", tmp_path / "missing", QUICK_AGENTS)


def test_a_case_past_its_timeout_is_stopped_with_all_it_started(
    tmp_path: Path, fake_model: FakeChatProvider
) -> None:
    repo = build_workspace(tmp_path / "workspace")

    with pytest.raises(AinosError, match=r"the exec case did not finish within 0\.5 s"):
        measure_case("exec", repo, QUICK_AGENTS, timeout_s=0.5)

    started = [
        process
        for process in psutil.process_iter(["cmdline"])
        if str(repo) in " ".join(process.info["cmdline"] or ())
    ]
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
