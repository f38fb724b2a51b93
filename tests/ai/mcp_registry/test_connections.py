"""ainos as a client of registered servers, run for real (the fixture server over stdio and
Streamable HTTP): tool filters enforced, every call audited, failures said clearly."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.ai.mcp_registry.conftest import ECHO_SERVER, echo_entry, http_echo

from ainos.ai.mcp_registry import (
    AuditLog,
    McpConnections,
    McpRegistry,
    RemoteEndpoint,
    ServerEntry,
    StdioCommand,
    server_tools,
)
from ainos.errors import McpServerError

__all__ = ["http_echo"]  # the fixture, used here too

FIXTURE_TOOLS = ["echo", "read_file", "shout", "crash"]


def text(result: Any) -> str:
    return "".join(block.text for block in result.content)


def test_a_session_lists_the_allowed_tools_and_calls_them() -> None:
    entry = echo_entry(disabled_tools=("shout",))
    with McpConnections([entry], client_name="tests", host="here") as connections:
        names = [tool.name for tool in connections.tools("echo")]
        echoed = connections.call("echo", "echo", {"text": "hello"})
        failed = connections.call("echo", "read_file", {"path": "/no/such/file"})
        with pytest.raises(McpServerError, match=r"'shout' is disabled"):
            connections.call("echo", "shout", {"text": "hi"})

    assert names == ["echo", "read_file", "crash"]
    assert (echoed.is_error, text(echoed)) == (False, "hello")
    assert failed.is_error
    assert "cannot read /no/such/file" in text(failed)
    records = AuditLog().records()
    assert [(r.client, r.host, r.server, r.tool, r.outcome) for r in records] == [
        ("tests", "here", "echo", "echo", "ok"),
        ("tests", "here", "echo", "read_file", "tool_error"),
        ("tests", "here", "echo", "shout", "rejected"),
    ]
    assert records[0].result_bytes > len("hello")
    assert records[0].duration_ms > 0


def test_a_server_that_dies_at_start_says_its_status_and_last_words() -> None:
    entry = echo_entry("dying", "--die", "3")
    with McpConnections([entry], client_name="tests") as connections:
        with pytest.raises(McpServerError) as caught:
            connections.tools("dying")
        assert connections.open_all() == {"dying": caught.value}  # not started again

    assert str(caught.value) == (
        "MCP server 'dying' exited with status 3 as it started; "
        "its stderr ended: echo fixture: told to die at start"
    )


def test_a_command_that_does_not_exist_is_said_so() -> None:
    entry = ServerEntry(id="ghost", name="ghost", launch=StdioCommand("no-such-mcp-server-here"))
    with (
        McpConnections([entry], client_name="tests") as connections,
        pytest.raises(McpServerError) as caught,
    ):
        connections.tools("ghost")

    message = str(caught.value)
    assert message.startswith("MCP server 'ghost' could not start (exit status 127")
    assert "no-such-mcp-server-here: not found" in message


def test_a_server_that_dies_in_a_call_says_how_it_ended() -> None:
    with (
        McpConnections([echo_entry()], client_name="tests") as connections,
        pytest.raises(McpServerError) as caught,
    ):
        connections.call("echo", "crash", {})
    assert str(caught.value).startswith("MCP server 'echo' exited with status 5")
    assert "crashing as asked" in str(caught.value)
    assert [(r.tool, r.outcome) for r in AuditLog().records()] == [("crash", "unanswered")]


def test_closing_stops_the_servers(tmp_path: Path) -> None:
    started = tmp_path / "pid"
    launch = StdioCommand(
        sys.executable, (str(ECHO_SERVER),), {"ECHO_FIXTURE_STARTED": str(started)}
    )
    connections = McpConnections(
        [ServerEntry(id="echo", name="echo", launch=launch)], client_name="t"
    )
    assert not started.exists()  # nothing starts before it is used

    connections.tools("echo")
    pid = int(started.read_text())
    os.kill(pid, 0)  # running
    connections.close()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(McpServerError, match="closed"):
        connections.tools("echo")


def test_a_remote_server_over_streamable_http(http_echo: ServerEntry) -> None:
    with McpConnections([http_echo], client_name="tests") as connections:
        assert [t.name for t in connections.tools("web")] == FIXTURE_TOOLS
        assert text(connections.call("web", "echo", {"text": "over http"})) == "over http"
    assert [(r.server, r.tool, r.outcome) for r in AuditLog().records()] == [("web", "echo", "ok")]


def test_a_remote_server_that_is_not_there() -> None:
    nowhere = ServerEntry(
        id="nowhere", name="nowhere", launch=RemoteEndpoint("http://127.0.0.1:9/mcp")
    )
    with (
        McpConnections([nowhere], client_name="tests") as connections,
        pytest.raises(McpServerError, match=r"'nowhere' at http://127.0.0.1:9/mcp failed"),
    ):
        connections.tools("nowhere")


def test_server_tools_lists_everything_and_remembers_it() -> None:
    registry = McpRegistry()
    entry = registry.add(echo_entry(disabled_tools=("shout",)))

    tools = server_tools(entry, registry=registry)

    assert [t.name for t in tools] == FIXTURE_TOOLS  # the filters lifted, to show what there is
    listing = registry.listing("echo")
    assert listing is not None
    assert [t["name"] for t in listing] == FIXTURE_TOOLS
    assert listing[0]["annotations"] == {"readOnlyHint": True}
    assert listing[0]["inputSchema"]["required"] == ["text"]
