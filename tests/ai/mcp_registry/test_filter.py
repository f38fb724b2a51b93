"""The message filter on its own: each message allowed (perhaps rewritten) or rejected, and
every tool call audited — driven with JSON-RPC messages and a fake clock, no I/O."""

from __future__ import annotations

from typing import Any

from mcp_types import (
    INVALID_PARAMS,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)
from tests.ai.mcp_registry.conftest import echo_entry

from ainos.ai.mcp_registry import AuditRecord, Direction, MessageFilter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def request(request_id: int, method: str, **params: Any) -> JSONRPCRequest:
    return JSONRPCRequest(jsonrpc="2.0", id=request_id, method=method, params=params)


def response(request_id: int, **result: Any) -> JSONRPCResponse:
    return JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)


def make(**fields: Any) -> tuple[MessageFilter, list[AuditRecord], Clock]:
    records: list[AuditRecord] = []
    clock = Clock()
    entry = echo_entry(**fields)
    return MessageFilter(entry, host="claude", audit=records.append, clock=clock), records, clock


def test_a_call_of_a_disabled_tool_is_answered_with_an_error_and_never_forwarded() -> None:
    message_filter, records, _ = make(disabled_tools=("shout",))

    verdict = message_filter.from_client(request(7, "tools/call", name="shout", arguments={}))

    assert (verdict.direction, verdict.allowed) == (Direction.TO_SERVER, False)
    assert "shout" in verdict.reason
    reply = verdict.message
    assert isinstance(reply, JSONRPCError)
    assert (reply.id, reply.error.code) == (7, INVALID_PARAMS)
    assert "disabled" in reply.error.message
    assert [(r.tool, r.outcome, r.server, r.host) for r in records] == [
        ("shout", "rejected", "echo", "claude")
    ]


def test_an_allow_list_admits_only_its_tools() -> None:
    message_filter, _, _ = make(enabled_tools=("echo",))

    assert message_filter.from_client(request(1, "tools/call", name="echo")).allowed
    assert not message_filter.from_client(request(2, "tools/call", name="read_file")).allowed


def test_listings_lose_the_tools_clients_may_not_see() -> None:
    message_filter, _, _ = make(disabled_tools=("shout",))
    tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("echo", "shout")]
    message_filter.from_client(request(3, "tools/list"))

    verdict = message_filter.from_server(response(3, tools=tools, nextCursor="c"))

    assert verdict.allowed
    assert isinstance(verdict.message, JSONRPCResponse)
    assert verdict.message.result == {"tools": [tools[0]], "nextCursor": "c"}
    # The same result answering anything else is not touched.
    other = message_filter.from_server(response(4, tools=tools))
    assert isinstance(other.message, JSONRPCResponse)
    assert other.message.result["tools"] == tools


def test_every_call_is_audited_with_its_client_outcome_size_and_duration() -> None:
    message_filter, records, clock = make()
    client_info = {"name": "claude-ai", "version": "1"}
    message_filter.from_client(request(1, "initialize", clientInfo=client_info))
    message_filter.from_client(request(2, "tools/call", name="echo", arguments={"text": "hi"}))
    message_filter.from_client(request(3, "tools/call", name="read_file", arguments={}))
    message_filter.from_client(request(4, "tools/call", name="shout", arguments={}))
    clock.now += 0.25
    ok = {"content": [{"type": "text", "text": "hi"}]}
    message_filter.from_server(response(2, **ok))
    message_filter.from_server(response(3, content=[], isError=True))
    error = ErrorData(code=-32603, message="boom")
    message_filter.from_server(JSONRPCError(jsonrpc="2.0", id=4, error=error))

    assert [(r.client, r.tool, r.outcome) for r in records] == [
        ("claude-ai", "echo", "ok"),
        ("claude-ai", "read_file", "tool_error"),
        ("claude-ai", "shout", "failed"),
    ]
    assert records[0].result_bytes == len(b'{"content":[{"type":"text","text":"hi"}]}')
    assert records[0].duration_ms == 250.0
    assert records[2].reason == "boom"


def test_the_client_is_named_by_the_2026_requests_meta_too() -> None:
    message_filter, records, _ = make()
    meta = {"io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "2"}}
    message_filter.from_client(request(1, "tools/call", name="echo", _meta=meta))
    message_filter.from_server(response(1, content=[]))

    assert records[0].client == "modern"


def test_cancelled_and_unanswered_calls_are_audited_too() -> None:
    message_filter, records, _ = make()
    message_filter.from_client(request(1, "tools/call", name="echo"))
    message_filter.from_client(request(2, "tools/call", name="read_file"))
    cancel = JSONRPCNotification(
        jsonrpc="2.0", method="notifications/cancelled", params={"requestId": 1}
    )
    assert message_filter.from_client(cancel).allowed

    message_filter.close()

    assert [(r.tool, r.outcome) for r in records] == [
        ("echo", "cancelled"),
        ("read_file", "unanswered"),
    ]


def test_messages_of_the_server_to_the_client_pass() -> None:
    message_filter, records, _ = make()
    elicitation = request(9, "elicitation/create", message="Sure?")

    verdict = message_filter.from_server(elicitation)

    assert (verdict.direction, verdict.allowed, verdict.message) == (
        Direction.TO_CLIENT,
        True,
        elicitation,
    )
    assert records == []
