"""The coding agent's tools — ``codex``, ``codex-reply``, ``codex-stop``, ``codex-close`` —
through the SDK's client in this process, the agent's model played by a fake
OpenAI-compatible provider (tests/e2e/test_mcp_server.py runs them in real processes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import mcp_types as types
import pytest
from mcp import Client
from tests.app.mcp_server.conftest import FakeAgent, connect
from tests.app.mcp_server.fake_provider import MODEL, Reply, call

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("plain_environment")]


@pytest.fixture
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No $TMPDIR (a writable root that would widen the sandbox)."""
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.delenv("AINOS_SANDBOX", raising=False)


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def _messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    """A request's conversation as (role, content), the system message left out."""
    return [
        (str(m["role"]), str(m.get("content") or ""))
        for m in body["messages"]
        if m["role"] != "system"
    ]


async def _codex(client: Client, workspace: Path, prompt: str, **arguments: Any) -> Any:
    return await client.call_tool("codex", {"prompt": prompt, "cwd": str(workspace), **arguments})


async def _tool(client: Client, name: str) -> types.Tool:
    return next(t for t in (await client.list_tools()).tools if t.name == name)


async def test_codex_answers_with_its_thread_and_the_agents_message(
    fake_agent: FakeAgent, workspace: Path
) -> None:
    fake = fake_agent([Reply("Hello from the agent.")])
    async with connect() as client:
        tool = await _tool(client, "codex")
        result = await _codex(client, workspace, "say hello")
        assert result.is_error is not True, _text(result)
        structured = result.structured_content
        assert structured is not None
        assert tool.output_schema is not None
        jsonschema.validate(structured, tool.output_schema)
        assert structured["content"] == "Hello from the agent."
        assert _text(result) == "Hello from the agent."
        thread_id = structured["threadId"]
        # The conversation is stored, a resource.
        read = await client.read_resource(f"ainos://conversations/{thread_id}")
        [content] = read.contents
        assert isinstance(content, types.TextResourceContents)
        document = json.loads(content.text)
        assert document["thread"]["id"] == thread_id
        assert document["thread"]["cwd"] == str(workspace.resolve())
        kinds = [e["type"] for e in document["events"]]
        assert kinds[0] == "user_message"
        assert kinds[-1] == "turn.completed"
        listed = {str(r.uri) for r in (await client.list_resources(cache_mode="bypass")).resources}
        assert f"ainos://conversations/{thread_id}" in listed
    [request] = fake.requests
    assert request["model"] == MODEL
    assert request["stream"] is True
    assert _messages(request) == [("user", "say hello")]
    assert {t["function"]["name"] for t in request["tools"]} >= {"shell", "apply_patch"}


async def test_codex_reply_continues_the_thread(fake_agent: FakeAgent, workspace: Path) -> None:
    fake = fake_agent([Reply("first answer"), Reply("second answer"), Reply("third answer")])
    async with connect() as client:
        first = await _codex(client, workspace, "start")
        assert first.structured_content is not None
        thread_id = first.structured_content["threadId"]
        second = await client.call_tool(
            "codex-reply", {"threadId": thread_id, "prompt": "and then?"}
        )
        assert second.is_error is not True, _text(second)
        assert second.structured_content == {"threadId": thread_id, "content": "second answer"}
        # Codex's old name for the thread id.
        third = await client.call_tool(
            "codex-reply", {"conversationId": thread_id, "prompt": "and finally?"}
        )
        assert third.structured_content == {"threadId": thread_id, "content": "third answer"}
    assert _messages(fake.requests[1]) == [
        ("user", "start"),
        ("assistant", "first answer"),
        ("user", "and then?"),
    ]
    assert _messages(fake.requests[2])[-3:] == [
        ("user", "and then?"),
        ("assistant", "second answer"),
        ("user", "and finally?"),
    ]


async def test_codex_reply_needs_a_thread_it_knows(fake_agent: FakeAgent) -> None:
    fake = fake_agent()
    async with connect() as client:
        missing = await client.call_tool("codex-reply", {"prompt": "hello"})
        assert missing.is_error is True
        assert "threadId" in _text(missing)
        unknown = await client.call_tool(
            "codex-reply", {"threadId": "9999-no-such-thread", "prompt": "hello"}
        )
        assert unknown.is_error is True
        assert "9999-no-such-thread" in _text(unknown)
        bad = await client.call_tool("codex-reply", {"threadId": "x", "prompt": ""})
        assert bad.is_error is True
        assert "invalid argument prompt" in _text(bad)
        for name in ("codex-stop", "codex-close"):
            none = await client.call_tool(name, {"threadId": "9999-no-such-thread"})
            assert none.is_error is True
            assert _text(none) == "no thread '9999-no-such-thread'"
    assert fake.requests == []


async def test_bad_settings_are_refused_before_the_model_is_asked(
    fake_agent: FakeAgent, workspace: Path
) -> None:
    fake = fake_agent()
    async with connect() as client:
        nowhere = await _codex(client, workspace / "missing", "hi")
        assert nowhere.is_error is True
        assert "cwd: not a directory" in _text(nowhere)
        policy = await _codex(client, workspace, "hi", **{"approval-policy": "sometimes"})
        assert policy.is_error is True
        assert "invalid argument approval-policy" in _text(policy)
        extra = await _codex(client, workspace, "hi", colour="red")
        assert extra.is_error is True
        assert "invalid argument colour" in _text(extra)
        profile = await _codex(client, workspace, "hi", profile="no-such-profile")
        assert profile.is_error is True
        assert "no-such-profile" in _text(profile)
    assert fake.requests == []


async def test_settings_reach_the_model(fake_agent: FakeAgent, workspace: Path) -> None:
    fake = fake_agent([Reply("one"), Reply("two")])
    async with connect() as client:
        chosen = await _codex(
            client,
            workspace,
            "hi",
            model="chosen-model",
            **{"developer-instructions": "Always answer in haiku."},
        )
        assert chosen.is_error is not True, _text(chosen)
        configured = await _codex(client, workspace, "hi", config={"model": "configured-model"})
        assert configured.is_error is not True, _text(configured)
    assert fake.requests[0]["model"] == "chosen-model"
    system = fake.requests[0]["messages"][0]
    assert system["role"] == "system"
    assert "Always answer in haiku." in system["content"]
    assert fake.requests[1]["model"] == "configured-model"
    assert "haiku" not in fake.requests[1]["messages"][0]["content"]


async def test_progress_follows_the_turn(fake_agent: FakeAgent, workspace: Path) -> None:
    fake_agent([call("shell", command=["ls"]), Reply("listed")])
    steps: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append((progress, message))

    async with connect() as client:
        result = await client.call_tool(
            "codex",
            {"prompt": "show the files", "cwd": str(workspace)},
            progress_callback=on_progress,
        )
        assert result.is_error is not True, _text(result)
    assert [m for _, m in steps] == [
        "task started",
        "running ls",
        "answer ready",
        "task complete",
    ]
    values = [v for v, _ in steps]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize(
    ("answer", "runs", "asked_again"),
    [
        (types.ElicitResult(action="accept"), True, True),
        (types.ElicitResult(action="accept", content={"decision": "denied"}), False, True),
        (types.ElicitResult(action="decline"), False, True),
        # cancel: abort the turn; the model is not asked again.
        (types.ElicitResult(action="cancel"), False, False),
    ],
)
async def test_an_approval_is_asked_by_elicitation(
    fake_agent: FakeAgent,
    workspace: Path,
    answer: types.ElicitResult,
    runs: bool,
    asked_again: bool,
) -> None:
    fake = fake_agent(
        [call("shell", command=["touch", "made-by-agent"]), Reply("finished")],
        approval_policy="untrusted",
    )
    asked: list[types.ElicitRequestParams] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return answer

    async with connect(elicitation_callback=elicit) as client:
        result = await _codex(client, workspace, "make the file")
        assert result.is_error is not True, _text(result)
    [question] = asked
    assert "touch made-by-agent" in question.message
    assert (workspace / "made-by-agent").exists() is runs
    assert len(fake.requests) == (2 if asked_again else 1)
    if asked_again:
        tool_output = _messages(fake.requests[1])[-1]
        assert tool_output[0] == "tool"
        assert ("not run" in tool_output[1]) is not runs
    else:
        assert "approval prompt" in _text(result)


@pytest.mark.parametrize(("answer", "runs"), [("accept", True), ("decline", False)])
async def test_a_2026_connection_is_asked_through_a_retried_call(
    fake_agent: FakeAgent, workspace: Path, answer: str, runs: bool
) -> None:
    """2026-07-28 has no server-to-client requests: the call returns the question as an
    InputRequiredResult, the SDK client asks its elicitation callback and retries, and
    the retry's answer decides; the retried call then carries the turn to its end."""
    fake = fake_agent(
        [call("shell", command=["touch", "made-by-agent"]), Reply("done")],
        approval_policy="untrusted",
    )
    asked: list[types.ElicitRequestParams] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action=answer)  # type: ignore[arg-type]

    async with connect(mode="auto", elicitation_callback=elicit) as client:
        assert client.protocol_version == "2026-07-28"
        result = await _codex(client, workspace, "make the file")
        assert result.is_error is not True, _text(result)
        assert result.structured_content is not None
        assert result.structured_content["content"] == "done"
    [question] = asked
    assert "touch made-by-agent" in question.message
    assert (workspace / "made-by-agent").exists() is runs
    assert ("not run" in _messages(fake.requests[1])[-1][1]) is not runs


async def test_a_forged_request_state_is_refused(fake_agent: FakeAgent, workspace: Path) -> None:
    fake_agent([Reply("never asked")])
    async with connect(mode="auto") as client:
        with pytest.raises(Exception, match="requestState"):
            await client.session.call_tool(
                "codex",
                {"prompt": "x", "cwd": str(workspace)},
                request_state='{"thread": "t", "question": "q"}',
                allow_input_required=True,
            )


async def _thread_ids(client: Client) -> list[str]:
    listed = (await client.list_resources(cache_mode="bypass")).resources
    prefix = "ainos://conversations/"
    return [str(r.uri).removeprefix(prefix) for r in listed if str(r.uri).startswith(prefix)]


async def test_codex_stop_ends_a_running_turn(fake_agent: FakeAgent, workspace: Path) -> None:
    fake = fake_agent(
        [call("shell", command=["sleep", "30"]), Reply("after the stop")],
        sandbox_mode="danger-full-access",
    )
    running = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message == "running sleep 30":
            running.set()

    async with connect() as client:
        results: list[types.CallToolResult] = []

        async def turn() -> None:
            arguments = {"prompt": "wait", "cwd": str(workspace)}
            results.append(
                await client.call_tool("codex", arguments, progress_callback=on_progress)
            )

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(turn)
            with anyio.fail_after(60):
                await running.wait()
            [thread_id] = await _thread_ids(client)
            # One turn at a time.
            busy = await client.call_tool("codex-reply", {"threadId": thread_id, "prompt": "hi"})
            assert busy.is_error is True
            assert "running a turn" in _text(busy)
            # A unique prefix names the thread, as it does for codex-reply.
            stopped = await client.call_tool("codex-stop", {"threadId": thread_id[:8]})
            assert stopped.structured_content == {"threadId": thread_id, "stopped": True}
        [result] = results
        assert result.is_error is True
        assert result.structured_content is not None
        assert result.structured_content["threadId"] == thread_id
        assert _text(result).startswith("the turn was stopped")
        idle = await client.call_tool("codex-stop", {"threadId": thread_id})
        assert idle.structured_content == {"threadId": thread_id, "stopped": False}
        after = await client.call_tool("codex-reply", {"threadId": thread_id, "prompt": "again"})
        assert after.structured_content == {"threadId": thread_id, "content": "after the stop"}
    # The command was stopped, not waited for; the next request says so.
    outputs = [c for role, c in _messages(fake.requests[-1]) if role == "tool"]
    assert outputs
    assert "cancelled" in outputs[0]


async def test_codex_close_releases_a_thread_that_reply_reopens_with_its_settings(
    fake_agent: FakeAgent, workspace: Path
) -> None:
    """A reopened thread keeps the sandbox it was started with, not the config's."""
    fake = fake_agent(
        [
            Reply("ready"),
            call("shell", command=["touch", "made-by-agent"]),
            Reply("tried"),
        ],
        sandbox_mode="workspace-write",
    )
    async with connect() as client:
        first = await _codex(client, workspace, "hi", sandbox="read-only")
        assert first.structured_content is not None
        thread_id = first.structured_content["threadId"]
        closed = await client.call_tool("codex-close", {"threadId": thread_id})
        assert closed.is_error is not True
        assert closed.structured_content == {"threadId": thread_id, "stopped": False}
        assert "closed" in _text(closed)
        again = await client.call_tool(
            "codex-reply", {"threadId": thread_id, "prompt": "make the file"}
        )
        assert again.structured_content == {"threadId": thread_id, "content": "tried"}
    assert not (workspace / "made-by-agent").exists()
    assert _messages(fake.requests[1])[:2] == [("user", "hi"), ("assistant", "ready")]
