"""/v1/responses served for real and driven by the official ``openai`` client."""

from __future__ import annotations

import json

import openai
import pytest
from tests.llm_fixtures import TEST_CONTEXT

from ainos.ai.ml import DEFAULT_CHAT_MODEL

MODEL = DEFAULT_CHAT_MODEL
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(openai_client: openai.OpenAI) -> openai.OpenAI:
    return openai_client


def test_text_turn_and_follow_up(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model=MODEL,
        instructions="Answer briefly.",
        input="What is the capital of France?",
        max_output_tokens=16,
        temperature=0,
    )
    assert first.status in ("completed", "incomplete")
    assert first.output_text
    assert first.usage is not None
    assert first.usage.output_tokens > 0
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input="And of Italy?",
        max_output_tokens=16,
        temperature=0,
    )
    assert second.output_text
    # The follow-up's prompt holds the first turn: it is longer than the question alone.
    assert second.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens
    assert client.responses.retrieve(first.id).id == first.id


def test_streaming_event_order_and_text(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model=MODEL, input="Say hello.", max_output_tokens=12, temperature=0
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    streamed = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert "response.output_text.delta" in types
    assert types.index("response.output_item.added") < types.index("response.output_text.delta")
    assert types.index("response.output_text.done") < types.index("response.output_item.done")
    whole = client.responses.create(
        model=MODEL, input="Say hello.", max_output_tokens=12, temperature=0
    )
    assert streamed == whole.output_text


def test_function_call_turn_then_its_output(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input="What is the weather in Paris?",
        tools=[WEATHER, {"type": "web_search"}],  # type: ignore[list-item]
        tool_choice="required",
        parallel_tool_calls=False,
        max_output_tokens=64,
        temperature=0,
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments)["city"], str)
    follow = client.responses.create(
        model=MODEL,
        previous_response_id=response.id,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21C"}
        ],
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_output_tokens=24,
        temperature=0,
    )
    assert follow.output_text


def test_whole_history_resent_with_null_fields(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=MODEL,
        input=[
            {"type": "message", "role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
            {
                "type": "message",
                "role": "assistant",
                "id": None,
                "status": None,
                "content": [{"type": "output_text", "text": "Hello!", "annotations": []}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"role": "user", "content": "Name a fruit."},
        ],  # type: ignore[list-item]
        max_output_tokens=8,
        temperature=0,
    )
    assert response.output_text


def test_oversize_request_is_context_length_exceeded(client: openai.OpenAI) -> None:
    huge = "word " * (TEST_CONTEXT + 50)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input=huge, max_output_tokens=4)
    assert caught.value.code == "context_length_exceeded"
    with client.responses.stream(model=MODEL, input=huge, max_output_tokens=4) as stream:
        events = list(stream)
    assert events[-1].type == "response.failed"
    failed = events[-1].response
    assert failed.error is not None
    assert failed.error.code == "context_length_exceeded"


def test_unknown_previous_response_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, previous_response_id="resp_nope", input="hi")
    assert caught.value.code == "previous_response_not_found"


def test_retrieving_or_deleting_an_unknown_response_is_a_plain_404(
    client: openai.OpenAI,
) -> None:
    for call in (client.responses.retrieve, client.responses.delete):
        with pytest.raises(openai.NotFoundError) as caught:
            call("resp_nope")
        assert caught.value.code is None
        assert "resp_nope" in caught.value.message


SEND_KEYS = {
    "type": "function",
    "name": "send_keys",
    "description": "Type characters into the terminal",
    "parameters": {
        "type": "object",
        "properties": {"chars": {"type": "string"}},
        "required": ["chars"],
    },
}


def test_a_call_that_loops_inside_its_argument_is_incomplete(client: openai.OpenAI) -> None:
    """Asked to copy a long "abab…", the model loops inside the argument until the guard stops
    it: the response is incomplete and nothing of the broken call reaches the client."""
    asked = {
        "model": MODEL,
        "input": "Call send_keys with these chars: " + "ab" * 80,
        "tools": [SEND_KEYS],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_output_tokens": 300,
        "temperature": 0,
    }
    response = client.responses.create(**asked)  # type: ignore[call-overload]
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output == []
    with client.responses.stream(**asked) as stream:  # type: ignore[call-overload]
        events = list(stream)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.incomplete",
    ]
