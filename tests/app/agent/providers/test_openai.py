"""OpenAIModel against a real OpenAI-compatible server: ainos's own HTTP API with the
embedded model (the shared served runtime), on both wire APIs; and its errors."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.app.agent._model import ModelRequest
from ainos.app.agent.providers import OpenAIModel, WireApi, responses_input
from ainos.errors import ContextLengthExceeded, ModelError, ModelNotFound

from .conftest import CITY, TOOLS

WIRES = ["chat", "responses"]


def _ask(text: str, **fields: Any) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "content": text}], temperature=0, **fields)


def _model(url: str, wire_api: WireApi, model: str = DEFAULT_CHAT_MODEL) -> OpenAIModel:
    return OpenAIModel(model, base_url=f"{url}/v1", wire_api=wire_api, max_retries=0)


@pytest.mark.parametrize("wire_api", WIRES)
def test_text_streams_with_usage(llm_http_url: str, wire_api: WireApi) -> None:
    model = _model(llm_http_url, wire_api)
    pieces: list[str] = []
    reply = model.complete(_ask("Say hello.", max_output_tokens=16), pieces.append)
    model.close()
    assert reply.text
    assert "".join(pieces) == reply.text
    assert reply.tool_calls == ()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.input_tokens > 0
    assert 0 < reply.usage.output_tokens <= 16


@pytest.mark.parametrize("wire_api", WIRES)
def test_a_tool_call_comes_back_native(llm_http_url: str, wire_api: WireApi) -> None:
    model = _model(llm_http_url, wire_api)
    reply = model.complete(
        _ask("Read the file README.md", tools=TOOLS, tool_choice="required", max_output_tokens=200)
    )
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls
    for call in reply.tool_calls:
        assert call.name in {tool.name for tool in TOOLS}
        assert isinstance(call.arguments["path"], str)
        assert call.call_id


@pytest.mark.parametrize("wire_api", WIRES)
def test_a_tool_result_goes_back(llm_http_url: str, wire_api: WireApi) -> None:
    """The history of a tool step (an assistant call, its output) is accepted and read."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
    }
    messages = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "What does README.md say?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ainos: an AI-native OS layer."},
    ]
    reply = _model(llm_http_url, wire_api).complete(
        ModelRequest(messages=messages, tools=TOOLS, tool_choice="none", max_output_tokens=24)
    )
    assert reply.text
    assert reply.tool_calls == ()


@pytest.mark.parametrize("wire_api", WIRES)
def test_an_output_schema_gives_valid_json(llm_http_url: str, wire_api: WireApi) -> None:
    reply = _model(llm_http_url, wire_api).complete(
        _ask("Name a city and its country.", output_schema=CITY, max_output_tokens=60)
    )
    document = json.loads(reply.text)
    assert set(document) == {"city", "country"}


def test_history_becomes_responses_items() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_file", "arguments": '{"path": "a"}'},
    }
    instructions, items = responses_input(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Read a"}]},
            {"role": "assistant", "content": "Reading it.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "A"},
            {"role": "system", "content": "Now answer."},
        ]
    )
    assert instructions == "Be brief."
    assert items == [
        {"type": "message", "role": "user", "content": "Read a"},
        {"type": "message", "role": "assistant", "content": "Reading it."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "read_file",
            "arguments": '{"path": "a"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "A"},
        {"type": "message", "role": "developer", "content": "Now answer."},
    ]


# -- errors ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("wire_api", WIRES)
def test_a_closed_port_cannot_be_reached(wire_api: WireApi) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    model = OpenAIModel("any", base_url=url, wire_api=wire_api, max_retries=0)
    with pytest.raises(ModelError, match=f"cannot reach {url}") as caught:
        model.complete(_ask("hi"))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("wire_api", WIRES)
def test_an_unknown_model_is_model_not_found(llm_http_url: str, wire_api: WireApi) -> None:
    model = _model(llm_http_url, wire_api, model="no-such-model")
    with pytest.raises(ModelNotFound, match="no-such-model"):
        model.complete(_ask("hi", max_output_tokens=4))


def test_a_prompt_over_the_window_is_context_length_exceeded(llm_http_url: str) -> None:
    model = _model(llm_http_url, "chat")
    with pytest.raises(ContextLengthExceeded):
        model.complete(_ask("word " * 3000, max_output_tokens=4))
