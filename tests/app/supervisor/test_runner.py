"""One sub-agent's run on a scripted model, over the real tools, checks, sandbox and store:
its findings, its summary, what its model is (never) sent, refusals, retention, artifacts
and failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.app.supervisor.conftest import API_TOKEN, AWS_KEY, ScriptedModels, definition

from ainos.app.agent import AgentConfig, ConversationStore, ModelReply, ModelRequest, ToolCall
from ainos.app.agent.sandbox import check_sandbox
from ainos.app.supervisor import AgentCatalog, SubAgentEnv, SubTask, run_subagent
from ainos.protocol.agent import AgentEvent, ItemCompleted, McpToolCallItem

needs_sandbox = pytest.mark.skipif(not check_sandbox().ok, reason="no sandbox mechanism works")

PATCH_NEW_FILE = "*** Begin Patch\n*** Add File: {path}\n+written\n*** End Patch\n"


def env(repo: Path, config: AgentConfig, models: ScriptedModels, **kwargs: object) -> SubAgentEnv:
    return SubAgentEnv(cwd=repo, config=config, models=models, **kwargs)  # type: ignore[arg-type]


def test_security_auditor_reports_its_checks_findings(repo: Path, config: AgentConfig) -> None:
    models = ScriptedModels()
    task = SubTask(AgentCatalog().get("sec-audit"), "Audit this code")
    result = run_subagent(task, env(repo, config, models))
    assert result.status == "completed", result.error
    assert result.agent == "security-auditor"
    assert set(result.checks) == {"secrets", "dangerous-calls"}
    places = {(f.check, f.path, f.line) for f in result.findings}
    assert ("secrets", "src/app.py", 4) in places
    assert ("secrets", "src/app.py", 5) in places
    assert ("dangerous-calls", "src/app.py", 10) in places
    assert ("dangerous-calls", "src/app.py", 14) in places
    assert [f.severity for f in result.findings][:2] == ["critical", "critical"]  # worst first
    assert result.summary.startswith("Fix first: src/app.py:4 (critical)")
    assert result.score == 1.0  # its criteria are about exactly these findings
    assert result.first_token_s is not None
    assert result.thread_id is None  # retention: job


def test_the_model_never_sees_a_redacted_secret(repo: Path, config: AgentConfig) -> None:
    """A model that reads the file with the secrets itself gets them redacted."""

    def script(client: str) -> list[ModelReply]:
        read = ToolCall("call_1", "read_file", {"path": "src/app.py"})
        return [
            ModelReply(tool_calls=(read,), finish_reason="tool_calls"),
            ModelReply(text=f"Rotate the key {AWS_KEY} first."),  # it cannot know it: echo test
        ]

    models = ScriptedModels(script=script, small=False)
    task = SubTask(AgentCatalog().get("security-auditor"), "Audit this code")
    result = run_subagent(task, env(repo, config, models))
    assert result.status == "completed", result.error
    sent = models.requests_text()
    assert "src/app.py" in sent
    assert "[redacted]" in sent
    assert AWS_KEY not in sent
    assert API_TOKEN not in sent
    assert API_TOKEN[8:] not in sent
    report = json.dumps(result.to_dict())
    assert AWS_KEY not in report
    assert API_TOKEN not in report  # nor in its result


def test_custom_redact_patterns(repo: Path, config: AgentConfig) -> None:
    (repo / "notes.txt").write_text("internal host: db-7731.corp.example\n")

    def script(client: str) -> list[ModelReply]:
        read = ToolCall("call_1", "read_file", {"path": "notes.txt"})
        return [ModelReply(tool_calls=(read,), finish_reason="tool_calls"), ModelReply(text="ok.")]

    models = ScriptedModels(script=script, small=False)
    agent = definition(
        r"""
        name: reader
        goal: Read notes
        policies: {secrets: {redact: ['db-\d+\.corp\.example']}}
        """
    )
    result = run_subagent(SubTask(agent, "Read the notes"), env(repo, config, models))
    assert result.status == "completed", result.error
    assert "db-7731" not in models.requests_text()


def _patching(path: str) -> object:
    def script(client: str) -> list[ModelReply]:
        patch = ToolCall("call_1", "apply_patch", {"input": PATCH_NEW_FILE.format(path=path)})
        return [ModelReply(tool_calls=(patch,), finish_reason="tool_calls"), ModelReply(text="ok.")]

    return script


def _tool_items(events: list[AgentEvent], tool: str) -> list[McpToolCallItem]:
    return [
        e.item
        for e in events
        if isinstance(e, ItemCompleted)
        and isinstance(e.item, McpToolCallItem)
        and e.item.tool == tool
    ]


def test_an_agent_without_fs_write_cannot_patch(repo: Path, config: AgentConfig) -> None:
    models = ScriptedModels(script=_patching("new.py"), small=False)  # type: ignore[arg-type]
    events: list[AgentEvent] = []
    task = SubTask(AgentCatalog().get("code-reviewer"), "Fix the code")
    result = run_subagent(
        task, env(repo, config, models, on_event=lambda a, e, t: events.append(e))
    )
    assert result.status == "completed", result.error
    assert not (repo / "new.py").exists()
    spec_names = {s.name for r in models.made.values() for q in r.requests for s in q.tools}
    assert "apply_patch" not in spec_names  # never offered
    (refused,) = _tool_items(events, "apply_patch")
    assert refused.error == {
        "message": "refused: agent code-reviewer may not write files (tools.fs.write is false)"
    }
    tool_results = [m for m in models.made.values() for q in m.requests for m in q.messages]
    assert any("may not write files" in str(m.get("content")) for m in tool_results)


def _writer() -> str:
    return """
        name: writer
        goal: Write reports
        tools: {fs: {read: true, write: [reports]}}
        """


def test_fs_write_paths_are_the_only_writable_places(repo: Path, config: AgentConfig) -> None:
    inside = ScriptedModels(script=_patching("reports/summary.md"), small=False)  # type: ignore[arg-type]
    result = run_subagent(SubTask(definition(_writer()), "Write"), env(repo, config, inside))
    assert result.status == "completed", result.error
    assert (repo / "reports" / "summary.md").read_text() == "written\n"

    outside = ScriptedModels(script=_patching("src/evil.py"), small=False)  # type: ignore[arg-type]
    result = run_subagent(SubTask(definition(_writer()), "Write"), env(repo, config, outside))
    assert not (repo / "src" / "evil.py").exists()
    sent = outside.requests_text()
    assert "may write only under reports (tools.fs.write); the patch writes src/evil.py" in sent


@needs_sandbox
def test_shell_runs_only_allowed_commands(repo: Path, config: AgentConfig) -> None:
    def script(client: str) -> list[ModelReply]:
        calls = (
            ToolCall("call_1", "shell", {"command": ["git", "status", "--short"]}),
            ToolCall("call_2", "shell", {"command": ["touch", "planted"]}),
        )
        return [ModelReply(tool_calls=calls, finish_reason="tool_calls"), ModelReply(text="ok.")]

    models = ScriptedModels(script=script, small=False)
    agent = definition(
        """
        name: runner
        goal: Run git
        tools: {shell: {exec: ["git status"]}}
        """
    )
    result = run_subagent(SubTask(agent, "Look"), env(repo, config, models))
    assert result.status == "completed", result.error
    assert not (repo / "planted").exists()
    sent = models.requests_text()
    assert "exit code: 0" in sent  # git status ran
    assert "may not run 'touch planted'" in sent


def test_session_retention_keeps_the_conversation(
    repo: Path, config: AgentConfig, tmp_path: Path
) -> None:
    models = ScriptedModels()
    with ConversationStore(tmp_path / "c.sqlite3") as store:
        kept = run_subagent(
            SubTask(AgentCatalog().get("researcher"), "Where are commands run?"),
            env(repo, config, models, store=store),
        )
        dropped = run_subagent(
            SubTask(AgentCatalog().get("code-reviewer"), "Review"),
            env(repo, config, models, store=store),
        )
        assert kept.thread_id is not None
        assert store.get(kept.thread_id).turns == 1
        assert dropped.thread_id is None
        assert len(store.list_threads()) == 1


def test_a_failing_model_fails_the_sub_agent_only(repo: Path, config: AgentConfig) -> None:
    def broken(request: ModelRequest) -> ModelReply:
        raise RuntimeError("the engine fell over")

    models = ScriptedModels(script=lambda client: [broken])
    result = run_subagent(
        SubTask(AgentCatalog().get("code-reviewer"), "Review"), env(repo, config, models)
    )
    assert result.status == "failed"
    assert result.error == "RuntimeError: the engine fell over"
    assert result.score == 0.0


def test_artifacts_are_written_whole(repo: Path, config: AgentConfig) -> None:
    agent = definition(
        """
        name: reporter
        goal: Find secrets
        checks: [secrets]
        tools: {fs: {read: true, write: [reports]}}
        artifacts: [reports/secrets.md, reports/secrets.json]
        """
    )
    result = run_subagent(SubTask(agent, "Find secrets"), env(repo, config, ScriptedModels()))
    assert result.status == "completed", result.error
    assert result.artifacts == ("reports/secrets.md", "reports/secrets.json")
    document = json.loads((repo / "reports" / "secrets.json").read_text())
    assert [a["agent"] for a in document["agents"]] == ["reporter"]
    markdown = (repo / "reports" / "secrets.md").read_text()
    assert "src/app.py:4" in markdown
    assert AWS_KEY not in markdown
    assert sorted(p.name for p in (repo / "reports").iterdir()) == ["secrets.json", "secrets.md"]
