"""``ainos mcp-server`` end to end: the real command in a child process, over stdio and
Streamable HTTP, driven by the official SDK's client and by a raw JSON-lines client (what
Codex's own clients write). The agent's model is a fake OpenAI-compatible provider; the
chat model is never loaded (``generate`` is only called with arguments it refuses)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jsonschema
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from PIL import Image
from tests.app.mcp_server.fake_provider import (
    MODEL,
    FakeChatProvider,
    Reply,
    call,
    write_agent_config,
)
from tests.e2e.conftest import Daemon
from tests.e2e.mcp_wire import RawStdioClient

pytestmark = [
    pytest.mark.slow,
    # ping, logging/setLevel and resources/subscribe are deprecated from 2026-07-28 on; the
    # clients of `codex mcp-server` speak earlier versions and use them.
    pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning"),
]

TRANSPORTS = ["stdio", "http"]
ACTIONS = {
    "Ainos.AnalyzeCodebase",
    "Ainos.ConvertTable",
    "Ainos.CountWords",
    "Ainos.DescribePhoto",
    "Ainos.SearchFiles",
    "Ainos.SummarizeText",
}
TOOLS = {
    "codex",
    "codex-reply",
    "codex-stop",
    "codex-close",
    "supervisor",
    "embed",
    "generate",
    "ainos_stats",
    "ainos_processes",
    "ainos_scheduler",
} | ACTIONS
_URL = re.compile(r"MCP over Streamable HTTP on (http://\S+/mcp)")
_START = 90.0  # seconds for a server to start: generous, the machine may be busy


def _server_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "AINOS_HOME": str(home)}
    for name in ("TMPDIR", "AINOS_SANDBOX", "AINOS_MCP_TOKEN"):
        env.pop(name, None)
    return env


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    (path / "src").mkdir(parents=True)
    (path / "README.md").write_text("# Demo\n\nA demo project served over MCP.\n")
    (path / "notes.txt").write_text("hello from the notes\n")
    (path / "src" / "app.py").write_text("def main():\n    # TODO: greet\n    return 1\n")
    Image.new("RGB", (5, 4)).save(path / "photo.png")
    return path


@pytest.fixture
def fake(ainos_home: Path) -> Iterator[FakeChatProvider]:
    """The agent's model; a test gives it its script (``_script``) before the server starts."""
    with FakeChatProvider() as provider:
        yield provider


def _script(
    fake: FakeChatProvider,
    home: Path,
    replies: list[Reply],
    *,
    approval_policy: str = "never",
    sandbox_mode: str = "workspace-write",
) -> FakeChatProvider:
    fake.load(replies)
    write_agent_config(home, fake.url, approval_policy=approval_policy, sandbox_mode=sandbox_mode)
    return fake


# -- servers -------------------------------------------------------------------------------


@contextmanager
def http_server(home: Path, cwd: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """``ainos mcp-server --http --port 0``: its URL (read from stderr) and its stderr lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ainos", "mcp-server", "--http", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_server_env(home),
    )
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if _URL.search(line):
                ready.set()
        ready.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert ready.wait(_START), "the server did not start in time"
        found = next((m for m in map(_URL.search, lines) if m), None)
        assert found is not None, f"the server did not start: {''.join(lines)}"
        yield found.group(1), lines
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=10)
        reader.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert code == 0, "".join(lines)
    assert "Traceback" not in "".join(lines)


@asynccontextmanager
async def sdk_client(
    transport: str,
    home: Path,
    cwd: Path,
    *args: str,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[Client]:
    """The SDK's client of a real ``ainos mcp-server`` (the handshake era: the server may
    ask the client, as it does for approvals)."""
    if transport == "stdio":
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "ainos", "mcp-server", *args],
            env={"AINOS_HOME": str(home)},
            cwd=cwd,
        )
        with (home / "mcp-server.stderr").open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), mode="legacy", **options) as c:
                yield c
        assert "Traceback" not in (home / "mcp-server.stderr").read_text()
        return
    with http_server(home, cwd, *args) as (url, _):
        async with http_client(url, headers, **options) as client:
            yield client


@asynccontextmanager
async def http_client(
    url: str, headers: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[Client]:
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy", **options) as client,
    ):
        yield client


def _raw(home: Path, cwd: Path, *args: str) -> RawStdioClient:
    return RawStdioClient(*args, home=home, cwd=cwd, stderr_path=home / "mcp-server.stderr")


# -- the tour ------------------------------------------------------------------------------


def _fields_at_fault(tool: types.Tool) -> set[str]:
    """What a call with only an unknown argument may be refused for: that argument, or the
    first required one."""
    required = tool.input_schema.get("required") or []
    return {"no_such_field", *[str(f) for f in required[:1]]}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.anyio
async def test_a_tour_of_the_server(transport: str, seeded_home: Path, workspace: Path) -> None:
    logged: list[types.LoggingMessageNotificationParams] = []
    updated = anyio.Event()

    log_arrived = anyio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logged.append(params)
        log_arrived.set()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            assert str(message.params.uri) == "ainos://stats"
            updated.set()

    async with sdk_client(
        transport, seeded_home, workspace, logging_callback=on_log, message_handler=on_message
    ) as client:
        # The handshake.
        assert client.server_info is not None
        assert client.server_info.name == "ainos"
        capabilities = client.server_capabilities
        assert capabilities.tools is not None
        assert capabilities.tools.list_changed is True
        assert capabilities.resources is not None
        assert capabilities.resources.subscribe is True
        assert capabilities.resources.list_changed is False
        assert await client.send_ping() == types.EmptyResult()

        # Every tool, listed on one page.
        listing = await client.list_tools()
        assert listing.next_cursor is None
        tools = {t.name: t for t in listing.tools}
        assert set(tools) == TOOLS

        # Each refuses a bad argument, naming the field, before anything runs.
        for name, tool in tools.items():
            refused = await client.call_tool(name, {"no_such_field": 1})
            assert refused.is_error is True, name
            said = re.match(rf"{re.escape(name)}: invalid argument (\S+): ", _text(refused))
            assert said is not None, _text(refused)
            assert said.group(1) in _fields_at_fault(tool), _text(refused)
        refusals: list[tuple[dict[str, Any], str]] = [
            ({"prompt": "hi", "max_tokens": 0}, "max_tokens"),
            ({"prompt": "hi", "temperature": "hot"}, "temperature"),
        ]
        for arguments, field in refusals:
            refused = await client.call_tool("generate", arguments)
            assert refused.is_error is True
            assert _text(refused).startswith(f"generate: invalid argument {field}")
        unknown = await client.call_tool("no-such-tool", {})
        assert unknown.is_error is True
        assert _text(unknown) == "unknown tool 'no-such-tool'"
        for name in ("codex-stop", "codex-close"):
            nothing = await client.call_tool(name, {"threadId": "ffff-no-such-thread"})
            assert nothing.is_error is True
            assert "no thread" in _text(nothing)

        # The machine.
        stats = await client.call_tool("ainos_stats", {})
        assert stats.structured_content is not None
        assert "devices" in stats.structured_content
        processes = await client.call_tool("ainos_processes", {})
        assert processes.structured_content is not None
        assert isinstance(processes.structured_content["processes"], list)
        scheduler = await client.call_tool("ainos_scheduler", {})
        assert scheduler.structured_content is not None
        assert "stats" in scheduler.structured_content
        embedded = await client.call_tool("embed", {"texts": ["hello", "world"]})
        assert embedded.is_error is not True, _text(embedded)
        assert embedded.structured_content is not None
        assert embedded.structured_content["dimensions"] == 384
        assert len(embedded.structured_content["embeddings"]) == 2

        # Each action, with arguments it takes (the summary is extractive: no model loads).
        valid: dict[str, dict[str, Any]] = {
            "Ainos.AnalyzeCodebase": {"Codebase": "."},
            "Ainos.ConvertTable": {"Source": "a,b\n1,2\n"},
            "Ainos.CountWords": {"Text": "one two three"},
            "Ainos.DescribePhoto": {"Photo": "photo.png"},
            "Ainos.SearchFiles": {"Query": "hello"},
            "Ainos.SummarizeText": {"Text": "Apples grow on trees. Pears do too. So do plums."},
        }
        for name, arguments in valid.items():
            done = await client.call_tool(name, arguments)
            assert done.is_error is not True, f"{name}: {_text(done)}"
            assert done.structured_content, name
        assert "notes.txt" in _text(
            await client.call_tool("Ainos.SearchFiles", valid["Ainos.SearchFiles"])
        )

        # Resources and templates.
        resources = await client.list_resources()
        assert resources.next_cursor is None
        uris = {str(r.uri) for r in resources.resources}
        assert {"ainos://stats", "ainos://processes", "ainos://devices"} <= uris
        assert {f"ainos://actions/{a}" for a in ACTIONS} <= uris
        for uri in ("ainos://stats", "ainos://processes", "ainos://devices"):
            [content] = (await client.read_resource(uri)).contents
            assert isinstance(content, types.TextResourceContents)
            assert isinstance(json.loads(content.text), dict)
        [action] = (await client.read_resource("ainos://actions/Ainos.CountWords")).contents
        assert isinstance(action, types.TextResourceContents)
        assert json.loads(action.text)["id"] == "Ainos.CountWords"
        with pytest.raises(MCPError) as missing:
            await client.read_resource("ainos://actions/No.Such")
        assert missing.value.code == -32002
        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "ainos://actions/{id}",
            "ainos://conversations/{threadId}",
        }

        # Prompts.
        prompts = await client.list_prompts()
        assert prompts.next_cursor is None
        assert {p.name for p in prompts.prompts} == {"code-review", "analyze-codebase"}
        review = await client.get_prompt("code-review", {"path": "src", "focus": "tests"})
        assert isinstance(review.messages[0].content, types.TextContent)
        assert "Review the code in src." in review.messages[0].content.text
        with pytest.raises(MCPError) as no_path:
            await client.get_prompt("code-review", {"focus": "tests"})
        assert no_path.value.code == types.INVALID_PARAMS
        assert "path" in no_path.value.message

        # Completion.
        ids = await client.complete(
            types.ResourceTemplateReference(uri="ainos://actions/{id}"),
            {"name": "id", "value": "Ainos.Cou"},
        )
        assert ids.completion.values == ["Ainos.CountWords"]
        paths = await client.complete(
            types.PromptReference(name="code-review"), {"name": "path", "value": "s"}
        )
        assert paths.completion.values == ["src"]

        # Logging: a failing call is told at the level asked for (none was asked so far).
        await client.set_logging_level("warning")
        assert (await client.call_tool("embed", {"texts": []})).is_error is True
        with anyio.fail_after(30):
            await log_arrived.wait()
        assert [(e.level, e.logger) for e in logged] == [("warning", "ainos")]
        assert isinstance(logged[0].data, str)
        assert logged[0].data.startswith("embed: ")

        # A subscription to the statistics (checked every second) is told of a change.
        await client.subscribe_resource("ainos://stats")
        with anyio.fail_after(60):
            await updated.wait()
        await client.unsubscribe_resource("ainos://stats")


# -- the coding agent over the SDK ---------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.anyio
async def test_codex_turns_approvals_and_progress(
    transport: str, ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    _script(
        fake,
        ainos_home,
        [
            call("shell", command=["touch", "made-by-agent"]),
            Reply("I made the file."),
            Reply("second answer"),
            Reply("third answer"),
        ],
        approval_policy="untrusted",
    )
    asked: list[types.ElicitRequestParams] = []
    steps: list[tuple[float, str | None]] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept")

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append((progress, message))

    async with sdk_client(transport, ainos_home, workspace, elicitation_callback=elicit) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "codex")
        first = await client.call_tool(
            "codex", {"prompt": "make the file"}, progress_callback=on_progress
        )
        assert first.is_error is not True, _text(first)
        assert first.structured_content is not None
        assert tool.output_schema is not None
        jsonschema.validate(first.structured_content, tool.output_schema)
        assert first.structured_content["content"] == "I made the file."
        thread_id = first.structured_content["threadId"]
        assert (workspace / "made-by-agent").exists()
        [question] = asked
        assert "touch made-by-agent" in question.message
        assert [m for _, m in steps] == [
            "task started",
            "running touch made-by-agent",
            "answer ready",
            "task complete",
        ]
        assert [v for v, _ in steps] == sorted(v for v, _ in steps)

        second = await client.call_tool("codex-reply", {"threadId": thread_id, "prompt": "next"})
        assert second.structured_content == {"threadId": thread_id, "content": "second answer"}
        third = await client.call_tool(
            "codex-reply", {"conversationId": thread_id, "prompt": "last"}
        )
        assert third.structured_content == {"threadId": thread_id, "content": "third answer"}

        [stored] = (await client.read_resource(f"ainos://conversations/{thread_id}")).contents
        assert isinstance(stored, types.TextResourceContents)
        document = json.loads(stored.text)
        assert document["thread"]["id"] == thread_id
        assert [e["text"] for e in document["events"] if e["type"] == "user_message"] == [
            "make the file",
            "next",
            "last",
        ]
        completed = await client.complete(
            types.ResourceTemplateReference(uri="ainos://conversations/{threadId}"),
            {"name": "threadId", "value": thread_id[:6]},
        )
        assert completed.completion.values == [thread_id]
        idle = await client.call_tool("codex-stop", {"threadId": thread_id})
        assert idle.structured_content == {"threadId": thread_id, "stopped": False}
        closed = await client.call_tool("codex-close", {"threadId": thread_id})
        assert closed.structured_content == {"threadId": thread_id, "stopped": False}

    # The second request carried the first turn's history, the third the second's.
    conversation = [
        (m["role"], m.get("content")) for m in fake.requests[2]["messages"] if m["role"] != "system"
    ]
    assert conversation[0] == ("user", "make the file")
    assert conversation[-2:] == [("assistant", "I made the file."), ("user", "next")]
    assert ("user", "next") in [(m["role"], m.get("content")) for m in fake.requests[3]["messages"]]


@pytest.mark.anyio
async def test_cancelling_a_long_tool_call_stops_the_turn_and_the_server_serves_on(
    ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    _script(
        fake,
        ainos_home,
        [call("shell", command=["sleep", "30"]), Reply("after the cancel")],
        approval_policy="never",
        sandbox_mode="danger-full-access",
    )
    running = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message == "running sleep 30":
            running.set()

    async with sdk_client("stdio", ainos_home, workspace) as client:
        async with anyio.create_task_group() as tasks:

            async def long_call() -> None:
                await client.call_tool(
                    "codex", {"prompt": "wait a while"}, progress_callback=on_progress
                )
                raise AssertionError("the call was not cancelled")

            tasks.start_soon(long_call)
            with anyio.fail_after(60):
                await running.wait()
            # Leaving the scope cancels the call: the client sends notifications/cancelled.
            tasks.cancel_scope.cancel()

        # The server serves on.
        assert (await client.call_tool("ainos_scheduler", {})).is_error is not True
        prefix = "ainos://conversations/"
        [thread_id] = [
            str(r.uri).removeprefix(prefix)
            for r in (await client.list_resources()).resources
            if str(r.uri).startswith(prefix)
        ]
        # The turn ends at its next step; then the thread takes another.
        with anyio.fail_after(60):
            while True:
                stop = await client.call_tool("codex-stop", {"threadId": thread_id})
                assert stop.structured_content is not None
                if stop.structured_content["stopped"] is False:
                    break
                await anyio.sleep(0.1)
        again = await client.call_tool("codex-reply", {"threadId": thread_id, "prompt": "again"})
        assert again.structured_content == {"threadId": thread_id, "content": "after the cancel"}
    # The command was killed, not waited for: its output says so.
    outputs = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert len(outputs) == 1
    assert "cancelled" in outputs[0]


# -- the wire, as Codex's clients write it -------------------------------------------------


def _events(exchange: Any) -> list[dict[str, Any]]:
    return [e["msg"] for e in exchange.events()]


def test_codex_events_and_approvals_on_the_wire(
    ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    patch = "*** Begin Patch\n*** Add File: added.txt\n+written by the agent\n*** End Patch\n"
    _script(
        fake,
        ainos_home,
        [
            call("shell", command=["touch", "approved"]),
            Reply("ran it"),
            call("shell", command=["touch", "declined"]),
            Reply("did not run it"),
            call("apply_patch", input=patch),
            Reply("patched"),
        ],
        approval_policy="untrusted",
    )
    root = str(workspace.resolve())
    with _raw(ainos_home, workspace) as client:
        assert client.initialize()["serverInfo"]["name"] == "ainos"

        # Approved, Codex style: {"decision": "approved"}.
        approved = client.request(
            "tools/call",
            {
                "name": "codex",
                "arguments": {"prompt": "touch it"},
                "_meta": {"progressToken": "t1"},
            },
            answer=lambda _: {"decision": "approved"},
        )
        result = approved.result
        assert result["isError"] is False
        thread_id = result["structuredContent"]["threadId"]
        assert result["structuredContent"]["content"] == "ran it"
        assert (workspace / "approved").exists()
        request_id = approved.response["id"]
        events = approved.events()
        assert all(e["_meta"] == {"requestId": request_id, "threadId": thread_id} for e in events)
        kinds = [e["msg"]["type"] for e in events]
        assert kinds[0] == "session_configured"
        assert kinds[-1] == "task_complete"
        assert {"task_started", "exec_command_begin", "exec_approval_request"} <= set(kinds)
        assert {"exec_command_end", "agent_message", "token_count"} <= set(kinds)
        configured = events[0]["msg"]
        assert configured["session_id"] == thread_id
        assert configured["model"] == MODEL
        assert events[-1]["msg"]["last_agent_message"] == "ran it"
        [ask] = [e for e in events if e["msg"]["type"] == "exec_approval_request"]
        end = next(m for m in _events(approved) if m["type"] == "exec_command_end")
        assert end["exit_code"] == 0
        # The elicitation, with Codex's fields.
        [elicitation] = approved.requests
        assert elicitation["method"] == "elicitation/create"
        params = elicitation["params"]
        assert params["codex_elicitation"] == "exec-approval"
        assert params["codex_command"] == ["touch", "approved"]
        assert params["codex_cwd"] == root
        assert params["codex_parsed_cmd"] == [{"type": "unknown", "cmd": "touch approved"}]
        assert params["codex_call_id"] == ask["msg"]["call_id"]
        assert params["codex_event_id"] == ask["id"]
        assert params["codex_mcp_tool_call_id"] == str(request_id)
        assert params["threadId"] == thread_id
        assert params["requestedSchema"]["type"] == "object"
        assert "touch approved" in params["message"]
        # Progress against the caller's token, in order.
        progress = [
            n["params"] for n in approved.notifications if n["method"] == "notifications/progress"
        ]
        assert {p["progressToken"] for p in progress} == {"t1"}
        assert [p["progress"] for p in progress] == list(range(1, len(progress) + 1))
        assert progress[-1]["message"] == "task complete"

        # Declined, spec style: {"action": "decline"}.
        declined = client.request(
            "tools/call",
            {"name": "codex", "arguments": {"prompt": "touch the other"}},
            answer=lambda _: {"action": "decline"},
        )
        assert declined.result["structuredContent"]["content"] == "did not run it"
        assert not (workspace / "declined").exists()
        assert len(declined.requests) == 1
        assert not [n for n in declined.notifications if n["method"] == "notifications/progress"]
        end = next(m for m in _events(declined) if m["type"] == "exec_command_end")
        assert end["exit_code"] == -1
        assert "not run" in fake.requests[3]["messages"][-1]["content"]

        # A patch: its changes are in the question.
        patched = client.request(
            "tools/call",
            {"name": "codex", "arguments": {"prompt": "add a file"}},
            answer=lambda _: {"decision": "approved"},
        )
        assert patched.result["structuredContent"]["content"] == "patched"
        [question] = patched.requests
        assert question["params"]["codex_elicitation"] == "patch-approval"
        assert question["params"]["codex_changes"] == {"added.txt": {"type": "add"}}
        assert (workspace / "added.txt").read_text() == "written by the agent\n"
        kinds = [m["type"] for m in _events(patched)]
        assert "apply_patch_approval_request" in kinds
        end = next(m for m in _events(patched) if m["type"] == "patch_apply_end")
        assert end["success"] is True
    assert client.process.returncode == 0


def test_an_unanswered_approval_is_denied_after_the_timeout(
    ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    _script(
        fake,
        ainos_home,
        [call("shell", command=["touch", "never"]), Reply("nobody answered")],
        approval_policy="untrusted",
    )
    with _raw(ainos_home, workspace, "--approval-timeout", "1") as client:
        client.initialize()
        unanswered = client.request(
            "tools/call",
            {"name": "codex", "arguments": {"prompt": "touch it"}},
            answer=lambda _: None,
        )
        assert unanswered.result["structuredContent"]["content"] == "nobody answered"
        [question] = unanswered.requests
        cancelled = [
            n["params"]
            for n in unanswered.notifications
            if n["method"] == "notifications/cancelled"
        ]
        assert [c["requestId"] for c in cancelled] == [question["id"]]
        # The server still answers.
        assert client.request("ping").result == {}
    assert not (workspace / "never").exists()
    assert "not run" in fake.requests[1]["messages"][-1]["content"]


def test_unreadable_lines_get_json_rpc_errors(ainos_home: Path, workspace: Path) -> None:
    with _raw(ainos_home, workspace) as client:
        client.initialize()
        client.write_line("{bad json")
        parse_error = client.next_message()
        assert parse_error["jsonrpc"] == "2.0"
        assert parse_error["id"] is None
        assert parse_error["error"]["code"] == -32700
        client.write_line("")  # a blank line is not answered
        client.write_line('{"jsonrpc":"2.0","id":7,"foo":1}')
        invalid = client.next_message()
        assert invalid["id"] == 7
        assert invalid["error"]["code"] == -32600
        client.write_line('{"jsonrpc":"1.0","id":8,"method":"ping"}')
        wrong_version = client.next_message()
        assert wrong_version["id"] == 8
        assert wrong_version["error"]["code"] == -32600
        unknown = client.request("no/such/method", {})
        assert unknown.response["error"]["code"] == -32601
        assert client.request("ping").result == {}


def test_new_conversation_and_send_user_message(
    ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    _script(
        fake,
        ainos_home,
        [
            Reply("hello back"),
            call("shell", command=["touch", "asked-on-the-connection"]),
            Reply("made it"),
        ],
    )
    with _raw(ainos_home, workspace) as client:
        client.initialize()
        created = client.request(
            "newConversation", {"cwd": str(workspace), "approvalPolicy": "never"}
        ).result
        conversation = created["conversationId"]
        assert created["model"] == MODEL

        sent = client.request(
            "sendUserMessage",
            {"conversationId": conversation, "items": [{"type": "text", "text": "hello there"}]},
        )
        assert sent.result == {}
        turn = client.follow(
            lambda n: (
                n.get("method") == "codex/event" and n["params"]["msg"]["type"] == "task_complete"
            )
        )
        events = turn.events()
        assert all(
            e["_meta"]["conversationId"] == conversation
            and e["_meta"]["threadId"] == conversation
            and e["_meta"]["requestId"] is None
            for e in events
        )
        assert events[0]["msg"]["type"] == "task_started"
        assert events[-1]["msg"]["last_agent_message"] == "hello back"
        assert fake.requests[0]["messages"][-1] == {"role": "user", "content": "hello there"}

        # A conversation under `untrusted` asks on the connection.
        strict = client.request(
            "newConversation", {"cwd": str(workspace), "approvalPolicy": "untrusted"}
        ).result["conversationId"]
        client.request(
            "sendUserMessage",
            {"conversationId": strict, "items": [{"type": "text", "text": "make it"}]},
        )
        asked = client.follow(
            lambda n: (
                n.get("method") == "codex/event" and n["params"]["msg"]["type"] == "task_complete"
            ),
            answer=lambda _: {"decision": "approved"},
        )
        [question] = asked.requests
        assert question["params"]["codex_elicitation"] == "exec-approval"
        assert question["params"]["threadId"] == strict
        assert question["params"]["codex_mcp_tool_call_id"] is None  # no tool call runs it
        assert (workspace / "asked-on-the-connection").exists()

        # Failures are JSON-RPC errors naming the method.
        for method, params in [
            ("sendUserMessage", {"conversationId": "ffff-none", "items": [{"text": "hi"}]}),
            ("sendUserMessage", {"conversationId": conversation, "items": [{"text": "  "}]}),
            ("sendUserMessage", {"conversationId": conversation, "items": []}),
            ("newConversation", {"cwd": str(workspace / "missing")}),
        ]:
            failed = client.request(method, params).response
            assert failed["error"]["code"] == -32602, failed
        missing_cwd = client.request("newConversation", {"cwd": str(workspace / "missing")})
        assert missing_cwd.response["error"]["message"].startswith("newConversation: cwd")


# -- the HTTP door -------------------------------------------------------------------------


def _post(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "door-test", "version": "0"},
        },
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            **headers,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            status, got = response.status, dict(response.headers)
    except urllib.error.HTTPError as refused:
        text = refused.read().decode()
        status, got = refused.code, dict(refused.headers)
    if text.startswith("{"):
        return status, got, json.loads(text)
    # An event stream: the data of its first event.
    data = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return status, got, json.loads(data)


@pytest.mark.anyio
async def test_the_http_door(ainos_home: Path, workspace: Path) -> None:
    with http_server(ainos_home, workspace, "--token", "s3cret") as (url, lines):
        assert "bearer token required" in lines[0]
        good = {"Authorization": "Bearer s3cret"}
        status, headers, body = _post(url, {})
        assert status == 401
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate")) == "Bearer"
        assert body["error"]["message"] == "missing or wrong bearer token"
        assert _post(url, {"Authorization": "Bearer wrong"})[0] == 401
        status, _, body = _post(url, {**good, "Host": "evil.example"})
        assert status == 403
        assert "evil.example" in body["error"]["message"]
        status, _, body = _post(url, {**good, "Origin": "http://evil.example"})
        assert status == 403
        assert "evil.example" in body["error"]["message"]
        status, headers, body = _post(url, {**good, "Origin": "http://localhost:3000"})
        assert status == 200
        assert {k.lower() for k in headers} >= {"mcp-session-id"}
        assert body["result"]["serverInfo"]["name"] == "ainos"
        async with http_client(url, good) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS


@pytest.mark.anyio
async def test_a_thread_started_on_one_http_connection_continues_on_another(
    ainos_home: Path, workspace: Path, fake: FakeChatProvider
) -> None:
    _script(fake, ainos_home, [Reply("first answer"), Reply("second answer")])
    with http_server(ainos_home, workspace) as (url, _):
        async with http_client(url) as one:
            first = await one.call_tool("codex", {"prompt": "start"})
            assert first.structured_content is not None
            thread_id = first.structured_content["threadId"]
        async with http_client(url) as two:
            second = await two.call_tool("codex-reply", {"threadId": thread_id, "prompt": "go on"})
            assert second.structured_content == {"threadId": thread_id, "content": "second answer"}
    assert [m["content"] for m in fake.requests[1]["messages"] if m["role"] != "system"] == [
        "start",
        "first answer",
        "go on",
    ]


def _mcp_server_fails(home: Path, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "mcp-server", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_server_env(home),
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_public_address_needs_a_token(ainos_home: Path, workspace: Path) -> None:
    line = _mcp_server_fails(ainos_home, workspace, "--http", "--host", "0.0.0.0", "--port", "0")
    assert "--host 0.0.0.0" in line
    assert "--token" in line


def test_bad_options_are_one_line(ainos_home: Path, workspace: Path) -> None:
    assert "--approval-timeout" in _mcp_server_fails(
        ainos_home, workspace, "--approval-timeout", "0"
    )
    assert "not a directory" in _mcp_server_fails(
        ainos_home, workspace, "-C", str(workspace / "missing")
    )


# -- beside a daemon -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_models_and_statistics_come_from_the_daemon_when_one_runs(
    seeded_home: Path, workspace: Path, daemon: Daemon
) -> None:
    socket = str(daemon.socket_path)
    async with sdk_client("stdio", seeded_home, workspace, "--socket", socket) as client:
        embedded = await client.call_tool("embed", {"texts": ["hello", "world"]})
        assert embedded.is_error is not True, _text(embedded)
        assert embedded.structured_content is not None
        assert embedded.structured_content["where"] == "daemon"
        assert embedded.structured_content["dimensions"] == 384
        scheduler = await client.call_tool("ainos_scheduler", {})
        assert scheduler.structured_content is not None
        classes = scheduler.structured_content["stats"]["classes"]
        assert sum(c["completed_total"] for c in classes.values()) >= 1
        stats = await client.call_tool("ainos_stats", {})
        assert stats.structured_content is not None
        assert "devices" in stats.structured_content
