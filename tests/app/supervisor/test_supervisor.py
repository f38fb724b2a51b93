"""Sub-tasks run side by side (or not) by strategy, on scripted models: the overlap is read
from the events' timestamps; a failing sub-agent is reported, not fatal; a cancel stops
the rest; a whole run through ``run_supervisor`` on the fake OpenAI-compatible provider."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path

import pytest
from tests.app.mcp_server.fake_provider import FakeChatProvider, Reply, write_agent_config
from tests.app.supervisor.conftest import AWS_KEY, ScriptedModels, definition

from ainos.app.agent import AgentConfig, ModelReply, ModelRequest, load_config
from ainos.app.supervisor import (
    AgentCatalog,
    SubAgentEnv,
    SubTask,
    SupervisorOptions,
    merge_results,
    render_markdown,
    run_supervisor,
    run_tasks,
)
from ainos.errors import InvalidArgument, NotFound
from ainos.protocol.agent import AgentEvent

Timeline = dict[str, list[float]]


def _recorder() -> tuple[Timeline, object]:
    timeline: Timeline = defaultdict(list)
    lock = threading.Lock()

    def on_event(agent: str, event: AgentEvent, at: float) -> None:
        with lock:
            timeline[agent].append(at)

    return timeline, on_event


def _overlap(timeline: Timeline, a: str, b: str) -> bool:
    return min(timeline[a]) < max(timeline[b]) and min(timeline[b]) < max(timeline[a])


def _tasks(*names: str) -> list[SubTask]:
    catalog = AgentCatalog()
    return [SubTask(catalog.get(name), "Comprehensive code review") for name in names]


def test_two_sub_agents_run_concurrently(repo: Path, config: AgentConfig) -> None:
    # Each model call waits for the other sub-agent's: only side-by-side runs get past it
    # (run one after the other, the barrier would break and both would fail).
    meeting = threading.Barrier(2, timeout=30)

    def meet(request: ModelRequest) -> ModelReply:
        meeting.wait()
        return ModelReply(text="Fix the critical finding first.")

    models = ScriptedModels(script=lambda client: [meet])
    timeline, on_event = _recorder()
    env = SubAgentEnv(cwd=repo, config=config, models=models, on_event=on_event)  # type: ignore[arg-type]
    results = run_tasks(_tasks("code-reviewer", "security-auditor"), env, "parallel", 2)
    assert [r.status for r in results] == ["completed", "completed"], [r.error for r in results]
    assert _overlap(timeline, "code-reviewer", "security-auditor")
    assert set(models.made) == {"ainos-agent/code-reviewer", "ainos-agent/security-auditor"}

    report = merge_results(
        "review", "parallel", "concatenate", results, started_at=0, finished_at=1
    )
    markdown = render_markdown(report)
    assert "TODO: validate the command" in markdown  # the reviewer's
    assert "`src/app.py:4`" in markdown
    assert AWS_KEY not in markdown  # the auditor's
    assert {a for f in report.findings for a in f.finding.check.split()} >= {"todo", "secrets"}


def test_sequential_runs_one_after_the_other(repo: Path, config: AgentConfig) -> None:
    timeline, on_event = _recorder()
    env = SubAgentEnv(cwd=repo, config=config, models=ScriptedModels(), on_event=on_event)  # type: ignore[arg-type]
    results = run_tasks(_tasks("code-reviewer", "security-auditor"), env, "sequential", 4)
    assert [r.status for r in results] == ["completed", "completed"]
    assert max(timeline["code-reviewer"]) <= min(timeline["security-auditor"])


def test_hybrid_runs_writers_after_readers(repo: Path, config: AgentConfig) -> None:
    timeline, on_event = _recorder()
    env = SubAgentEnv(cwd=repo, config=config, models=ScriptedModels(), on_event=on_event)  # type: ignore[arg-type]
    tasks = _tasks("test-writer", "code-reviewer", "security-auditor")  # test-writer writes
    results = run_tasks(tasks, env, "hybrid", 2)
    assert [r.agent for r in results] == ["test-writer", "code-reviewer", "security-auditor"]
    readers_done = max(max(timeline["code-reviewer"]), max(timeline["security-auditor"]))
    assert min(timeline["test-writer"]) >= readers_done


def test_a_failing_sub_agent_is_reported_not_fatal(repo: Path, config: AgentConfig) -> None:
    def script(client: str) -> list[object]:
        if client.endswith("security-auditor"):

            def broken(request: ModelRequest) -> ModelReply:
                raise RuntimeError("out of memory")

            return [broken]
        return [ModelReply(text="Fine.")]

    env = SubAgentEnv(cwd=repo, config=config, models=ScriptedModels(script=script))  # type: ignore[arg-type]
    results = run_tasks(_tasks("code-reviewer", "security-auditor"), env, "parallel", 2)
    assert [r.status for r in results] == ["completed", "failed"]
    report = merge_results("review", "parallel", "voting", results, started_at=0, finished_at=1)
    markdown = render_markdown(report)
    assert "out of memory" in markdown
    assert all(f.agents == ("code-reviewer",) for f in report.findings)


def test_a_cancel_stops_what_has_not_started(repo: Path, config: AgentConfig) -> None:
    env = SubAgentEnv(cwd=repo, config=config, models=ScriptedModels())  # type: ignore[arg-type]

    def cancel_after_first(agent: str, event: AgentEvent, at: float) -> None:
        if event.type == "turn.completed":
            env.cancel.set()

    env.on_event = cancel_after_first
    results = run_tasks(_tasks("code-reviewer", "security-auditor"), env, "sequential", 1)
    assert [r.status for r in results] == ["completed", "stopped"]


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="unknown strategy 'fast'"):
        SupervisorOptions(cwd=tmp_path, strategy="fast")
    with pytest.raises(InvalidArgument, match="--max-parallel"):
        SupervisorOptions(cwd=tmp_path, max_parallel=0)


def test_an_unknown_agent_fails_before_any_model_loads(repo: Path) -> None:
    with pytest.raises(NotFound, match="no agent named 'nobody'"):
        run_supervisor("review", SupervisorOptions(cwd=repo, agents=("nobody",)), load_config())


def test_a_whole_run_on_the_fake_provider(repo: Path, ainos_home: Path) -> None:
    """Planned by the rules, each sub-agent a client of the fake remote provider; the
    provider never receives a planted secret."""
    with FakeChatProvider(default=Reply("The secrets matter most.")) as provider:
        write_agent_config(ainos_home, provider.url)
        report = run_supervisor("Security audit please", SupervisorOptions(cwd=repo), load_config())
        bodies = str(provider.requests)
    assert report.planned_by == "rules"
    assert [r.agent for r in report.results] == ["security-auditor"]
    assert report.results[0].status == "completed", report.results[0].error
    assert {f.finding.check for f in report.findings} == {"secrets", "dangerous-calls"}
    assert "src/app.py" in bodies
    assert AWS_KEY not in bodies


def test_user_definitions_take_part(repo: Path, config: AgentConfig, ainos_home: Path) -> None:
    agent = definition(
        """
        name: todo-hunter
        goal: List the TODO markers
        checks: [todo]
        """
    )
    env = SubAgentEnv(cwd=repo, config=config, models=ScriptedModels())  # type: ignore[arg-type]
    (result,) = run_tasks([SubTask(agent, "List TODOs")], env, "parallel", 2)
    assert [f.message for f in result.findings] == ["TODO: validate the command before running it"]


def test_a_registered_mcp_server_is_used_only_when_granted(repo: Path, config: AgentConfig) -> None:
    """``tools.mcp`` naming a registered server gives its tools (the agent's own wiring),
    as a client named for the sub-agent; an agent that names none starts no server."""
    from tests.ai.mcp_registry.conftest import echo_entry

    from ainos.ai.mcp_registry import McpRegistry
    from ainos.app.supervisor._supervisor import _RegisteredServers

    McpRegistry().add(echo_entry(disabled_tools=("shout",)))
    granted = definition(
        """
        name: echoer
        goal: Echo things
        tools: {mcp: [echo]}
        """
    )
    servers = _RegisteredServers()
    try:
        names = {tool.spec.name for tool in servers.tools(granted)}
        assert {"mcp__echo__echo", "mcp__echo__read_file"} <= names
        assert "mcp__echo__shout" not in names  # the registry's own filter still applies
        assert servers.tools(AgentCatalog().get("code-reviewer")) == []
    finally:
        servers.close()
