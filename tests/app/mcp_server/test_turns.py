"""A turn's notifications: each Codex message as a ``codex/event`` on the call's channel,
the steps a person follows as MCP progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import pytest

from ainos.app.mcp_server._loop import LoopHandle
from ainos.app.mcp_server._turns import _progress_line, _Sender


def _sender(peer: Any, thread_id: str, meta: dict[str, Any]) -> _Sender:
    sender = _Sender(peer, meta, LoopHandle())
    sender.thread_id = thread_id
    return sender


@pytest.mark.parametrize(
    ("msg", "line"),
    [
        ({"type": "task_started"}, "task started"),
        ({"type": "exec_command_begin", "command": ["ls", "-la"]}, "running ls -la"),
        ({"type": "patch_apply_begin", "changes": {"a.py": {}, "b.py": {}}}, "patching a.py, b.py"),
        (
            {"type": "mcp_tool_call_begin", "invocation": {"server": "actions", "tool": "count"}},
            "calling actions.count",
        ),
        ({"type": "agent_message", "message": "hi"}, "answer ready"),
        ({"type": "task_complete"}, "task complete"),
        ({"type": "turn_aborted"}, "turn aborted"),
        ({"type": "error", "message": "x"}, "error"),
        ({"type": "token_count"}, None),
        ({"type": "exec_command_end"}, None),
        ({"type": "agent_reasoning", "text": "hmm"}, None),
    ],
)
def test_progress_lines(msg: dict[str, Any], line: str | None) -> None:
    assert _progress_line(msg) == line


def test_a_long_command_line_is_cut() -> None:
    line = _progress_line({"type": "exec_command_begin", "command": ["echo", "x" * 500]})
    assert line is not None
    assert len(line) == len("running ") + 200


@dataclass
class _Peer:
    request_id: str | int | None
    can_ask: bool = True
    fail: bool = False
    notified: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    progressed: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        if self.fail:
            raise anyio.ClosedResourceError
        self.notified.append((method, params))

    async def request(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        raise AssertionError("a sender asks nothing")

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progressed.append((progress, total, message))


@pytest.mark.anyio
async def test_events_go_to_the_calls_channel_with_codex_fields() -> None:
    peer = _Peer(request_id=12)
    sender = _sender(peer, "thread-1", {"conversationId": "thread-1"})

    def send() -> None:
        sender.send({"type": "task_started"})
        sender.send({"type": "token_count"})
        sender.send({"type": "exec_approval_request"}, "approval-call_1")
        sender.send({"type": "task_complete"})

    await anyio.to_thread.run_sync(send)
    assert [m for m, _ in peer.notified] == ["codex/event"] * 4
    first = peer.notified[0][1]
    assert first == {
        "_meta": {"conversationId": "thread-1", "requestId": 12, "threadId": "thread-1"},
        "id": "12",
        "msg": {"type": "task_started"},
    }
    assert peer.notified[2][1]["id"] == "approval-call_1"
    # Progress counts the steps a person follows.
    assert peer.progressed == [(1, None, "task started"), (2, None, "task complete")]


@pytest.mark.anyio
@pytest.mark.parametrize(("request_id", "event_id"), [(0, "0"), ("req-a", "req-a"), (None, "t-7")])
async def test_the_event_id_is_the_request_id_or_else_the_thread(
    request_id: str | int | None, event_id: str
) -> None:
    """JSON-RPC id 0 is an id like any other."""
    peer = _Peer(request_id=request_id)
    sender = _sender(peer, "t-7", {})
    await anyio.to_thread.run_sync(sender.send, {"type": "task_started"})
    [(_, params)] = peer.notified
    assert params["id"] == event_id
    assert params["_meta"]["requestId"] == request_id


@pytest.mark.anyio
async def test_a_client_that_went_away_does_not_stop_the_turn() -> None:
    peer = _Peer(request_id=1, fail=True)
    sender = _sender(peer, "t", {})
    await anyio.to_thread.run_sync(sender.send, {"type": "task_started"})
    assert peer.notified == []
