"""The agent uses every enabled registered MCP server's tools as ``mcp__<server>__<tool>``,
under the approval policy — the scripted model drives real servers (the fixture, over stdio
and Streamable HTTP)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.ai.mcp_registry.conftest import echo_entry, http_echo
from tests.app.agent.conftest import RecordingApprover, validate_events

from ainos.ai.mcp_registry import AuditLog, McpRegistry, ServerEntry, StdioCommand
from ainos.app.agent._approval import ApprovalDecision
from ainos.app.agent._config import AgentConfig, ApprovalPolicy
from ainos.app.agent._model import ModelReply, ModelRequest, ToolCall
from ainos.app.agent._rules import ApprovalRules
from ainos.app.agent._wiring import AgentRun, start_session
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.agent.tools import mcp_tool_name

__all__ = ["http_echo"]  # the fixture, used here too


def config(policy: ApprovalPolicy = ApprovalPolicy.ON_REQUEST) -> AgentConfig:
    return AgentConfig(model="fake-scripted", approval_policy=policy)


def call(name: str, call_id: str = "call_1", **arguments: Any) -> ModelReply:
    return ModelReply(tool_calls=(ToolCall(call_id, name, arguments),))


def answer_with_last_result(request: ModelRequest) -> ModelReply:
    return ModelReply(text=f"tool said: {request.messages[-1]['content']}")


def session(model: FakeScriptedModel, cwd: Path, **options: Any) -> AgentRun:
    policy = options.pop("policy", ApprovalPolicy.ON_REQUEST)
    return start_session(model, config(policy), cwd, with_actions=False, **options)


def items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "item.completed"]


def offered(model: FakeScriptedModel) -> list[str]:
    return [spec.name for spec in model.requests[0].tools]


def test_the_agent_calls_an_mcp_tool_through_the_registry(tmp_path: Path) -> None:
    McpRegistry().add(echo_entry(disabled_tools=("shout",)))
    model = FakeScriptedModel([call("mcp__echo__echo", text="hello"), answer_with_last_result])

    with session(model, tmp_path) as run:
        events = validate_events(run.run_turn("Echo hello"))

    tool_item, message = items(events)
    assert tool_item == {
        "id": tool_item["id"],
        "type": "mcp_tool_call",
        "server": "echo",
        "tool": "echo",
        "arguments": {"text": "hello"},
        "result": {"content": [{"type": "text", "text": "hello"}], "structured_content": None},
        "error": None,
        "status": "completed",
    }
    assert message["text"] == "tool said: hello"
    names = offered(model)
    assert {"mcp__echo__echo", "mcp__echo__read_file", "mcp__echo__crash"} <= set(names)
    assert "mcp__echo__shout" not in names  # disabled: not even offered
    assert not any(name.startswith("mcp__ainos__") for name in names)  # no agent in the agent
    spec = next(s for s in model.requests[0].tools if s.name == "mcp__echo__echo")
    assert spec.parameters["required"] == ["text"]
    assert "tool echo of MCP server echo" in spec.description
    [record] = AuditLog().records()
    assert (record.client, record.host, record.tool, record.outcome) == (
        "ainos-agent", "ainos-agent", "echo", "ok",
    )  # fmt: skip


def test_a_tool_that_may_change_things_is_asked_about(tmp_path: Path) -> None:
    McpRegistry().add(echo_entry())
    person = RecordingApprover([ApprovalDecision.DENIED, ApprovalDecision.APPROVED])
    model = FakeScriptedModel(
        [
            call("mcp__echo__shout", "call_1", text="no"),
            call("mcp__echo__shout", "call_2", text="yes"),
            call("mcp__echo__echo", "call_3", text="read-only: never asked"),
            ModelReply(text="done"),
        ]
    )

    with session(model, tmp_path, approver=person) as run:
        events = validate_events(run.run_turn("Shout"))

    declined, shouted, echoed, _ = items(events)
    assert declined["status"] == "declined"
    assert declined["error"]["message"] == "not run: the user declined the tool call"
    assert (shouted["status"], shouted["result"]["content"][0]["text"]) == ("completed", "YES")
    assert echoed["status"] == "completed"
    assert [r.describe() for r in person.asked] == [
        'shout of MCP server echo with {"text": "no"}',
        'shout of MCP server echo with {"text": "yes"}',
    ]
    first = person.asked[0]
    assert (first.kind, first.server, first.tool, first.call_id) == (
        "mcp",
        "echo",
        "shout",
        "call_1",
    )


def test_under_never_an_uncontained_tool_that_may_change_things_is_refused(
    tmp_path: Path,
) -> None:
    McpRegistry().add(echo_entry())
    model = FakeScriptedModel([call("mcp__echo__shout", text="x"), answer_with_last_result])

    with session(model, tmp_path, policy=ApprovalPolicy.NEVER) as run:
        events = validate_events(run.run_turn("Shout"))

    refused, message = items(events)
    assert refused["status"] == "declined"
    assert "the policy is never" in message["text"]
    assert AuditLog().records() == []  # it never reached the server


def test_a_tool_error_and_a_dead_server_are_tool_errors_not_turn_failures(tmp_path: Path) -> None:
    registry = McpRegistry()
    registry.add(echo_entry())
    # A server that cannot start offers the tools last listed of it, each failing clearly.
    registry.add(echo_entry("dying", "--die", "3"))
    registry.save_listing("dying", [{"name": "ping", "inputSchema": {"type": "object"}}])
    model = FakeScriptedModel(
        [
            call("mcp__echo__read_file", "call_1", path=str(tmp_path / "missing.txt")),
            call("mcp__dying__ping", "call_2"),
            answer_with_last_result,
        ]
    )

    rules = ApprovalRules()  # `ainos approvals add --kind mcp SERVER` for both
    for server in ("echo", "dying"):
        rules.add("mcp", [server], project=None)

    with session(model, tmp_path, policy=ApprovalPolicy.NEVER, rules=rules) as run:
        events = validate_events(run.run_turn("Try"))

    unreadable, dead, message = items(events)
    assert unreadable["status"] == "failed"
    assert "cannot read" in unreadable["error"]["message"]
    assert dead["status"] == "failed"
    assert dead["error"]["message"] == (
        "MCP server 'dying' exited with status 3 as it started; "
        "its stderr ended: echo fixture: told to die at start"
    )
    assert message["text"].startswith("tool said: error: MCP server 'dying' exited with status 3")
    assert events[-1]["type"] == "turn.completed"


def test_a_remote_server_over_http(tmp_path: Path, http_echo: ServerEntry) -> None:
    McpRegistry().add(http_echo)
    model = FakeScriptedModel([call("mcp__web__echo", text="far away"), answer_with_last_result])

    with session(model, tmp_path) as run:
        events = validate_events(run.run_turn("Echo"))

    assert items(events)[-1]["text"] == "tool said: far away"


def test_servers_start_on_first_use_and_stop_with_the_session(tmp_path: Path) -> None:
    started = tmp_path / "pid"
    entry = echo_entry()
    assert isinstance(entry.launch, StdioCommand)
    with_witness = replace(entry.launch, env={"ECHO_FIXTURE_STARTED": str(started)})
    McpRegistry().add(replace(entry, launch=with_witness))
    McpRegistry().add(echo_entry("unused", enabled=False))
    model = FakeScriptedModel([ModelReply(text="no tools needed")])

    run = session(model, tmp_path)
    assert not started.exists()  # nothing started with the session
    assert run.mcp is not None
    assert list(run.mcp.entries) == ["echo"]  # a disabled server is not offered
    validate_events(run.run_turn("Hi"))
    pid = int(started.read_text())
    os.kill(pid, 0)

    run.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_without_registered_servers_or_with_mcp_off_nothing_starts(tmp_path: Path) -> None:
    assert session(FakeScriptedModel([]), tmp_path).mcp is None
    McpRegistry().add(echo_entry())
    assert session(FakeScriptedModel([]), tmp_path, with_mcp=False).mcp is None


def test_tool_names_hold_only_what_a_function_name_may() -> None:
    assert mcp_tool_name("echo", "echo") == "mcp__echo__echo"
    assert mcp_tool_name("docs", "search.v2/all") == "mcp__docs__search_v2_all"
    long = mcp_tool_name("server", "t" * 100)
    assert len(long) == 64
    assert long != mcp_tool_name("server", "t" * 99)
