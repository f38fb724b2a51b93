"""The fake provider speaks what the agent's OpenAI client reads: streamed text, streamed
tool calls, usage — checked with the agent's own ``OpenAIModel`` and the ``openai`` SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.app.mcp_server.fake_provider import MODEL, FakeChatProvider, Reply, call

from ainos.app.agent._model import ModelRequest, ToolSpec
from ainos.app.agent.providers import OpenAIModel

SHELL = ToolSpec(
    "shell",
    "Run a command",
    {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        "required": ["command"],
    },
)


@pytest.fixture
def fake() -> Iterator[FakeChatProvider]:
    with FakeChatProvider(
        [call("shell", command=["ls", "-la"]), Reply("All done here.")],
        default=Reply("spent"),
    ) as provider:
        yield provider


def test_replies_come_in_script_order_and_requests_are_recorded(fake: FakeChatProvider) -> None:
    model = OpenAIModel(MODEL, base_url=fake.url, max_retries=0)
    ask = ModelRequest(messages=[{"role": "user", "content": "list the files"}], tools=[SHELL])
    first = model.complete(ask)
    assert first.finish_reason == "tool_calls"
    [tool_call] = first.tool_calls
    assert tool_call.name == "shell"
    assert tool_call.arguments == {"command": ["ls", "-la"]}
    assert tool_call.call_id
    streamed: list[str] = []
    second = model.complete(ask, streamed.append)
    assert second.text == "All done here."
    assert "".join(streamed) == "All done here."
    assert second.tool_calls == ()
    assert second.usage.input_tokens > 0
    assert second.usage.output_tokens > 0
    assert model.complete(ask).text == "spent"
    model.close()
    assert len(fake.requests) == 3
    assert fake.requests[0]["messages"] == [{"role": "user", "content": "list the files"}]
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["tools"][0]["function"]["name"] == "shell"


def test_a_request_not_streamed_gets_one_completion(fake: FakeChatProvider) -> None:
    import openai

    client = openai.OpenAI(base_url=fake.url, api_key="unused", max_retries=0)
    first = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    [choice] = first.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    [tool_call] = choice.message.tool_calls
    assert tool_call.type == "function"
    assert tool_call.function.name == "shell"
    second = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert second.choices[0].message.content == "All done here."
    assert second.usage is not None
    client.close()
