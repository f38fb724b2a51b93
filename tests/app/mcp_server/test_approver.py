"""Approvals asked by elicitation: what the client is sent, and its answer read as a
decision — Codex's ``{decision}`` or the spec's ``{action, content}``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.shared.exceptions import MCPError

from ainos.app.agent import ApprovalDecision, ApprovalRequest
from ainos.app.mcp_server._approver import (
    DECISION_SCHEMA,
    ElicitationApprover,
    approval_params,
    decision_of,
)
from ainos.app.mcp_server._loop import LoopHandle
from ainos.protocol.agent import FileUpdateChange

EXEC = ApprovalRequest(
    "exec", "call_7", Path("/work/repo"), ("bash", "-lc", "rm -rf build"), reason="clean up"
)
PATCH = ApprovalRequest(
    "patch",
    "call_8",
    Path("/work/repo"),
    changes=(FileUpdateChange(path="a.py", kind="update"), FileUpdateChange(path="n", kind="add")),
    diff="--- a.py\n+++ a.py\n@@ -1 +1 @@\n-x\n+y\n",
    grant_root=Path("/elsewhere"),
)


@pytest.mark.parametrize(
    ("reply", "decision"),
    [
        ({"decision": "approved"}, ApprovalDecision.APPROVED),
        ({"decision": "approved_for_session"}, ApprovalDecision.APPROVED_FOR_SESSION),
        ({"decision": "denied"}, ApprovalDecision.DENIED),
        ({"decision": "abort"}, ApprovalDecision.ABORT),
        ({"decision": "yes please"}, ApprovalDecision.DENIED),
        ({"action": "accept"}, ApprovalDecision.APPROVED),
        ({"action": "accept", "content": {}}, ApprovalDecision.APPROVED),
        (
            {"action": "accept", "content": {"decision": "approved_for_session"}},
            ApprovalDecision.APPROVED_FOR_SESSION,
        ),
        ({"action": "accept", "content": {"decision": "denied"}}, ApprovalDecision.DENIED),
        ({"action": "accept", "content": {"decision": "bogus"}}, ApprovalDecision.APPROVED),
        ({"action": "decline"}, ApprovalDecision.DENIED),
        ({"action": "cancel"}, ApprovalDecision.ABORT),
        ({}, ApprovalDecision.DENIED),
        ({"decision": 1}, ApprovalDecision.DENIED),
    ],
)
def test_decision_of(reply: dict[str, Any], decision: ApprovalDecision) -> None:
    assert decision_of(reply) is decision


def test_exec_approval_params_carry_codex_fields() -> None:
    params = approval_params(EXEC, thread_id="t-1", tool_call_id="12", event_id="approval-call_7")
    assert params["codex_elicitation"] == "exec-approval"
    assert params["codex_command"] == ["bash", "-lc", "rm -rf build"]
    assert params["codex_cwd"] == "/work/repo"
    assert params["codex_call_id"] == "call_7"
    assert params["codex_reason"] == "clean up"
    assert params["codex_parsed_cmd"] == [{"type": "unknown", "cmd": "rm -rf build"}]
    assert params["threadId"] == "t-1"
    assert params["codex_mcp_tool_call_id"] == "12"
    assert params["codex_event_id"] == "approval-call_7"
    assert params["requestedSchema"] == DECISION_SCHEMA
    assert "rm -rf build" in params["message"]
    assert "/work/repo" in params["message"]


def test_exec_approval_params_without_reason_have_no_reason_field() -> None:
    request = ApprovalRequest("exec", "c", Path("/w"), ("touch", "x"))
    assert "codex_reason" not in approval_params(
        request, thread_id="t", tool_call_id="1", event_id="e"
    )


def test_patch_approval_params_carry_the_changes() -> None:
    params = approval_params(PATCH, thread_id="t-2", tool_call_id="3", event_id="approval-call_8")
    assert params["codex_elicitation"] == "patch-approval"
    assert params["codex_changes"] == {
        "a.py": {"type": "update", "unified_diff": PATCH.diff, "move_path": None},
        "n": {"type": "add"},
    }
    assert params["codex_grant_root"] == "/elsewhere"
    assert params["codex_call_id"] == "call_8"
    assert params["threadId"] == "t-2"
    assert "update a.py" in params["message"]
    assert "codex_command" not in params


def test_the_requested_schema_is_a_flat_form_schema() -> None:
    """Elicitation schemas are flat objects of primitive properties."""
    assert DECISION_SCHEMA["type"] == "object"
    for spec in DECISION_SCHEMA["properties"].values():
        assert spec["type"] in ("string", "number", "integer", "boolean")
    assert set(DECISION_SCHEMA["properties"]["decision"]["enum"]) <= {
        d.value for d in ApprovalDecision
    }


@dataclass
class _Peer:
    """The client end of one tool call, answering from ``reply`` (an exception: raised)."""

    reply: dict[str, Any] | Exception
    can_ask: bool = True
    request_id: str | int | None = 42
    asked: list[tuple[str, dict[str, Any], float | None]] = field(default_factory=list)

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        raise AssertionError("the approver sends no notifications itself")

    async def request(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        self.asked.append((method, params, timeout))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return None


@dataclass
class _Channel:
    """The call following the turn: its peer, and the events announced on it."""

    peer: _Peer
    loop: LoopHandle
    announced: list[Any] = field(default_factory=list)
    relayed: list[dict[str, Any]] = field(default_factory=list)

    def send(self, msg: dict[str, Any], event_id: str | None = None) -> None:
        self.announced.append((msg, event_id))

    def relay(self, params: dict[str, Any]) -> ApprovalDecision:
        self.relayed.append(params)
        return ApprovalDecision.APPROVED


async def _ask(
    peer: _Peer, request: ApprovalRequest, channel: _Channel | None = None
) -> tuple[ApprovalDecision, list[Any]]:
    """The approver asked from a worker thread, as the agent asks it."""
    channel = channel or _Channel(peer, LoopHandle())
    approver = ElicitationApprover(channel, "t-9", 7.5, relay=channel.relay)
    decision = await anyio.to_thread.run_sync(approver.ask, request)
    return decision, channel.announced


@pytest.mark.anyio
async def test_an_exec_question_is_announced_then_asked() -> None:
    peer = _Peer({"decision": "approved_for_session"})
    decision, announced = await _ask(peer, EXEC)
    assert decision is ApprovalDecision.APPROVED_FOR_SESSION
    [(msg, event_id)] = announced
    assert event_id == "approval-call_7"
    assert msg["type"] == "exec_approval_request"
    assert msg["call_id"] == "call_7"
    assert msg["command"] == ["bash", "-lc", "rm -rf build"]
    assert msg["reason"] == "clean up"
    [(method, params, timeout)] = peer.asked
    assert method == "elicitation/create"
    assert timeout == 7.5
    assert params["codex_elicitation"] == "exec-approval"
    assert params["codex_mcp_tool_call_id"] == "42"
    assert params["codex_event_id"] == event_id
    assert params["threadId"] == "t-9"


@pytest.mark.anyio
async def test_a_patch_question_is_announced_with_its_changes() -> None:
    peer = _Peer({"action": "decline"})
    decision, announced = await _ask(peer, PATCH)
    assert decision is ApprovalDecision.DENIED
    [(msg, _)] = announced
    assert msg["type"] == "apply_patch_approval_request"
    assert set(msg["changes"]) == {"a.py", "n"}
    assert msg["grant_root"] == "/elsewhere"
    assert peer.asked[0][1]["codex_elicitation"] == "patch-approval"


@pytest.mark.anyio
async def test_a_question_outside_a_tool_call_names_no_tool_call() -> None:
    """A sendUserMessage turn asks on the connection: there is no tool call id."""
    peer = _Peer({"decision": "approved"}, request_id=None)
    decision, _ = await _ask(peer, EXEC)
    assert decision is ApprovalDecision.APPROVED
    assert peer.asked[0][1]["codex_mcp_tool_call_id"] is None


@pytest.mark.anyio
async def test_an_unanswered_or_failed_question_is_denied() -> None:
    timed_out = _Peer(MCPError(-32001, "timed out after 7.5s"))
    decision, _ = await _ask(timed_out, EXEC)
    assert decision is ApprovalDecision.DENIED
    assert len(timed_out.asked) == 1


@pytest.mark.anyio
async def test_a_connection_that_takes_no_requests_is_asked_through_the_relay() -> None:
    """2026-07-28: no elicitation request goes out; the question is relayed (the call
    returns it, and the client's retry answers it)."""
    peer = _Peer({"decision": "denied"}, can_ask=False)
    channel = _Channel(peer, LoopHandle())
    decision, announced = await _ask(peer, EXEC, channel)
    assert decision is ApprovalDecision.APPROVED  # the relay's answer, not the peer's
    assert peer.asked == []
    [(msg, event_id)] = announced
    assert msg["type"] == "exec_approval_request"
    [params] = channel.relayed
    assert params["codex_event_id"] == event_id
    assert "rm -rf build" in params["message"]


@pytest.mark.anyio
async def test_an_mcp_tool_question_names_the_server_and_tool() -> None:
    request = ApprovalRequest(
        kind="mcp",
        call_id="call_9",
        cwd=Path("/work/repo"),
        server="echo",
        tool="shout",
        arguments={"text": "hi"},
    )
    peer = _Peer({"decision": "approved"})
    decision, announced = await _ask(peer, request)
    assert decision is ApprovalDecision.APPROVED
    [(msg, _)] = announced
    assert msg["type"] == "mcp_tool_call_approval_request"
    assert msg["invocation"] == {"server": "echo", "tool": "shout", "arguments": {"text": "hi"}}
    params = peer.asked[0][1]
    assert params["codex_elicitation"] == "mcp-tool-approval"
    assert params["codex_mcp_server"] == "echo"
    assert params["codex_mcp_tool"] == "shout"
    assert "shout" in params["message"]
    assert "echo" in params["message"]
