"""``start_session``: the session its configuration describes — tools, sandbox, approvals,
budgets, instructions — bound to a stored thread whose turns it brackets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.app.agent.conftest import RecordingApprover, validate_events

from ainos.app.agent._approval import ApprovalDecision
from ainos.app.agent._config import AgentConfig, ApprovalPolicy
from ainos.app.agent._model import ModelReply, ModelRequest, ToolCall
from ainos.app.agent._rules import ApprovalRules
from ainos.app.agent._store import ConversationStore
from ainos.app.agent._wiring import AgentRun, start_session
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.agent.sandbox import SandboxMode, check_sandbox
from ainos.app.agent.tools import GREP, READ_FILE, ToolBox, builtin_tools

needs_sandbox = pytest.mark.skipif(not check_sandbox().ok, reason="no sandbox mechanism works")


def config(**options: Any) -> AgentConfig:
    return AgentConfig(model="fake-scripted", **options)


def shell(call_id: str, *argv: str) -> ModelReply:
    return ModelReply(tool_calls=(ToolCall(call_id, "shell", {"command": list(argv)}),))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(tmp_path / "state" / "conversations.sqlite3") as opened:
        yield opened


def test_without_a_store_a_session_has_an_unsaved_thread(repo: Path) -> None:
    model = FakeScriptedModel([ModelReply(text="hi")])
    cfg = config(max_steps=3, max_tokens=500, max_seconds=9.5)

    run = start_session(model, cfg, repo, with_actions=False)
    events = validate_events(run.run_turn("Say hi"))

    assert run.store is None
    assert not run.resumed
    assert len(run.thread.id) == 36
    assert (run.thread.cwd, run.thread.model, run.thread.turns) == (repo, "fake-scripted", 0)
    assert run.thread.settings == cfg.settings()
    assert [e["type"] for e in events][-2:] == ["item.completed", "turn.completed"]
    budgets = run.session.budgets
    assert (budgets.max_steps, budgets.max_tokens, budgets.max_seconds) == (3, 500, 9.5)


def test_a_stored_thread_records_every_event_and_message(
    repo: Path, store: ConversationStore
) -> None:
    listing = ToolCall("call_1", "list_dir", {"path": "."})
    model = FakeScriptedModel([ModelReply(tool_calls=(listing,)), ModelReply(text="Listed.")])
    cfg = config(sandbox_mode="workspace-write")

    run = start_session(model, cfg, repo, store=store, with_actions=False)
    thread = store.get(run.thread.id)
    assert (thread.cwd, thread.model, thread.provider) == (repo, "fake-scripted", "local")
    assert (thread.turns, thread.state, thread.settings) == (0, "idle", cfg.settings())

    events = validate_events(run.run_turn("List the files"))

    stored = store.events(run.thread.id)
    assert [e.data for e in stored] == events
    assert {e.turn for e in stored} == {1}
    assert store.messages(run.thread.id) == run.session.history
    assert [m["role"] for m in run.session.history] == ["user", "assistant", "tool", "assistant"]
    after = store.get(run.thread.id)
    assert (after.turns, after.state, after.title) == (1, "idle", "List the files")


def test_the_thread_is_running_during_a_turn_and_idle_after(
    repo: Path, store: ConversationStore
) -> None:
    run = start_session(
        FakeScriptedModel([ModelReply(text="a"), ModelReply(text="b")]),
        config(),
        repo,
        store=store,
        with_actions=False,
    )
    states = {store.get(run.thread.id).state for _ in run.run_turn("first")}
    assert states == {"running"}
    running = store.get(run.thread.id)
    assert running.state == "idle"
    assert running.owner_pid is None

    # Left mid-turn (the consumer stops reading): closed as interrupted, idle again.
    events = run.run_turn("second")
    assert next(events).type == "user_message"
    during = store.get(run.thread.id)
    assert (during.state, during.owner_pid, during.turns) == ("running", os.getpid(), 2)
    events.close()

    after = store.get(run.thread.id)
    assert after.state == "idle"
    last = store.events(run.thread.id)[-1]
    assert (last.turn, last.data) == (
        2,
        {"type": "turn.failed", "error": {"message": "interrupted"}},
    )


def test_a_resumed_session_continues_the_turn_numbers(repo: Path, store: ConversationStore) -> None:
    first = start_session(
        FakeScriptedModel([ModelReply(text="one"), ModelReply(text="two")]),
        config(),
        repo,
        store=store,
        with_actions=False,
    )
    for prompt in ("a", "b"):
        validate_events(first.run_turn(prompt))

    model = FakeScriptedModel([ModelReply(text="three")])
    resumed = start_session(
        model, config(), repo, store=store, resume=store.get(first.thread.id), with_actions=False
    )
    validate_events(resumed.run_turn("c"))

    assert resumed.resumed
    assert resumed.thread.id == first.thread.id
    assert [e.turn for e in store.events(first.thread.id) if e.data["type"] == "turn.started"] == [
        1,
        2,
        3,
    ]
    assert store.get(first.thread.id).turns == 3
    users = [m["content"] for m in model.requests[0].messages if m["role"] == "user"]
    assert users == ["a", "b", "c"]


def test_the_tools_offered(repo: Path) -> None:
    def names(run: AgentRun) -> list[str]:
        return run.session.tools.names()

    builtin = [tool.spec.name for tool in builtin_tools()]
    model = FakeScriptedModel([])

    with_actions = names(start_session(model, config(), repo))
    assert with_actions[: len(builtin)] == builtin
    assert "action_Ainos_AnalyzeCodebase" in with_actions
    assert "action_Ainos_Codex" not in with_actions  # the agent does not call itself
    assert names(start_session(model, config(), repo, with_actions=False)) == builtin
    chosen = ToolBox([READ_FILE, GREP])
    assert names(start_session(model, config(), repo, tools=chosen)) == ["read_file", "grep"]


def test_the_system_message_carries_the_workspace_and_its_agents_md(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("Answer in haiku.\n")
    (repo / "pkg" / "AGENTS.md").write_text("Mind the greeting.\n")
    model = FakeScriptedModel([ModelReply(text="ok")])

    run = start_session(model, config(), repo / "pkg", with_actions=False)
    validate_events(run.run_turn("hello"))

    system = model.requests[0].messages[0]
    assert system["role"] == "system"
    assert f"You work in the directory {repo / 'pkg'}." in system["content"]
    assert system["content"].index("Answer in haiku.") < system["content"].index(
        "Mind the greeting."
    )


def test_the_sandbox_and_gate_follow_the_configuration(repo: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    cfg = config(
        approval_policy=ApprovalPolicy.UNTRUSTED,
        sandbox_mode="workspace-write",
        network_access=True,
        writable_roots=(extra,),
    )

    context = start_session(FakeScriptedModel([]), cfg, repo, with_actions=False).session.context

    assert context.cwd == repo
    assert context.sandbox.mode is SandboxMode.WORKSPACE_WRITE
    assert context.sandbox.workspace == repo
    assert context.sandbox.network is True
    assert extra in context.sandbox.writable_roots
    assert context.gate.policy is ApprovalPolicy.UNTRUSTED
    assert context.gate.project == repo


@needs_sandbox
def test_without_an_approver_a_question_is_denied_saying_how_to_allow_it(repo: Path) -> None:
    model = FakeScriptedModel([shell("call_1", "touch", "x"), ModelReply(text="denied")])
    cfg = config(approval_policy=ApprovalPolicy.UNTRUSTED, sandbox_mode="workspace-write")

    run = start_session(model, cfg, repo, with_actions=False)
    events = validate_events(run.run_turn("Make x"))

    (item,) = [e["item"] for e in events if e["type"] == "item.completed"][:1]
    assert item["type"] == "command_execution"
    assert item["status"] == "declined"
    result = next(m for m in model.requests[1].messages if m["role"] == "tool")["content"]
    assert "nobody can answer" in result
    assert "ainos approvals add" in result
    assert not (repo / "x").exists()


@needs_sandbox
def test_a_stored_rule_approves_without_asking(repo: Path, tmp_path: Path) -> None:
    rules = ApprovalRules(tmp_path / "approvals.sqlite3")
    rules.add("exec", ("touch",), project=repo)
    model = FakeScriptedModel([shell("call_1", "touch", "x"), ModelReply(text="made")])
    cfg = config(approval_policy=ApprovalPolicy.UNTRUSTED, sandbox_mode="workspace-write")

    run = start_session(model, cfg, repo, approver=RecordingApprover(), rules=rules)
    validate_events(run.run_turn("Make x"))

    assert (repo / "x").exists()


@needs_sandbox
def test_approved_for_project_stores_a_rule(repo: Path, tmp_path: Path) -> None:
    rules = ApprovalRules(tmp_path / "approvals.sqlite3")
    person = RecordingApprover([ApprovalDecision.APPROVED_FOR_PROJECT])
    cfg = config(approval_policy=ApprovalPolicy.UNTRUSTED, sandbox_mode="workspace-write")
    model = FakeScriptedModel([shell("call_1", "touch", "x"), ModelReply(text="made")])

    run = start_session(model, cfg, repo, approver=person, rules=rules, with_actions=False)
    validate_events(run.run_turn("Make x"))

    assert [(r.kind, r.pattern, r.scope) for r in rules.list_rules()] == [
        ("exec", ("touch", "x"), repo)
    ]
    # A new session (another run) is not asked.
    again = FakeScriptedModel([shell("call_1", "touch", "x"), ModelReply(text="made")])
    later = start_session(again, cfg, repo, approver=RecordingApprover(), rules=rules)
    (repo / "x").unlink()
    validate_events(later.run_turn("Make x again"))
    assert (repo / "x").exists()


@needs_sandbox
def test_allow_list_only_refuses_what_no_rule_allows(repo: Path, tmp_path: Path) -> None:
    rules = ApprovalRules(tmp_path / "approvals.sqlite3")
    rules.add("exec", ("touch", "allowed"), project=repo)
    cfg = config(sandbox_mode="workspace-write", allow_list_only=True)

    def check(request: ModelRequest) -> ModelReply:
        results = [m["content"] for m in request.messages if m["role"] == "tool"]
        assert results[1] == "not run: allow-list-only: no approval rule matches this command"
        return ModelReply(text="done")

    model = FakeScriptedModel(
        [
            ModelReply(
                tool_calls=(
                    ToolCall("call_1", "shell", {"command": ["touch", "allowed"]}),
                    ToolCall("call_2", "shell", {"command": ["touch", "refused"]}),
                )
            ),
            check,
        ]
    )
    run = start_session(model, cfg, repo, approver=RecordingApprover(), rules=rules)
    validate_events(run.run_turn("Make files"))

    assert (repo / "allowed").exists()
    assert not (repo / "refused").exists()


def test_a_turn_left_during_a_tool_call_leaves_a_history_the_next_turn_can_send(
    repo: Path, store: ConversationStore
) -> None:
    calls = (
        ToolCall("call_1", "list_dir", {"path": "."}),
        ToolCall("call_2", "grep", {"pattern": "x"}),
    )
    model = FakeScriptedModel([ModelReply(tool_calls=calls), ModelReply(text="fine")])
    run = start_session(model, config(), repo, store=store, with_actions=False)

    events = run.run_turn("Look around")
    for event in events:
        if event.type == "item.started":
            break
    events.close()
    validate_events(run.run_turn("Go on"))

    sent = model.requests[1].messages[1:]
    assert [(m["role"], m.get("tool_call_id")) for m in sent] == [
        ("user", None),
        ("assistant", None),
        ("tool", "call_1"),
        ("tool", "call_2"),
        ("user", None),
    ]
    assert {m["content"] for m in sent if m["role"] == "tool"} == {
        "interrupted: the call did not finish"
    }
    assert store.messages(run.thread.id)[:4] == run.session.history[:4]
