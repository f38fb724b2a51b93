"""/v1/chat/completions served for real and driven by the official ``openai`` client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest
from tests.llm_fixtures import TEST_CONTEXT

from ainos.ai.ml import DEFAULT_CHAT_MODEL

MODEL = DEFAULT_CHAT_MODEL
ASK = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def server(llm_http_url: str) -> str:
    return llm_http_url


@pytest.fixture
def client(openai_client: openai.OpenAI) -> openai.OpenAI:
    return openai_client


def _post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_streaming_and_non_streaming_agree_at_temperature_zero(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=16, temperature=0)
    again = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=16, temperature=0)
    text = whole.choices[0].message.content
    assert text
    assert text == again.choices[0].message.content
    assert whole.usage is not None
    assert 0 < whole.usage.completion_tokens <= 16
    streamed, usage = "", None
    for chunk in client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.choices:
            streamed += chunk.choices[0].delta.content or ""
        else:
            usage = chunk.usage
    assert streamed == text
    assert usage is not None
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_json_schema_output_validates(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=64,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
    )
    document = json.loads(reply.choices[0].message.content or "")
    assert isinstance(document["city"], str)
    assert isinstance(document["country"], str)


def test_tools_give_tool_calls(client: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[tool],  # type: ignore[list-item]
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=64,
        temperature=0,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)


def test_oversize_input_is_context_length_exceeded(client: openai.OpenAI) -> None:
    huge = [{"role": "user", "content": "word " * (TEST_CONTEXT + 50)}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=huge, max_tokens=4)  # type: ignore[arg-type]
    assert caught.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as streamed:
        client.chat.completions.create(model=MODEL, messages=huge, max_tokens=4, stream=True)  # type: ignore[arg-type]
    assert streamed.value.code == "context_length_exceeded"


def test_unknown_model_is_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=ASK)  # type: ignore[arg-type]
    assert caught.value.code == "model_not_found"


def test_embedding_model_is_not_a_chat_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="all-minilm-l6-v2", messages=ASK)  # type: ignore[arg-type]


def test_malformed_requests_get_openai_errors(server: str) -> None:
    status, body = _post(f"{server}/v1/chat/completions", b"{not json")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    status, body = _post(
        f"{server}/v1/chat/completions",
        json.dumps({"model": MODEL, "messages": ASK, "temperature": "hot"}).encode(),
    )
    assert status == 400
    assert body["error"]["param"] == "temperature"
    status, body = _post(
        f"{server}/v1/chat/completions",
        json.dumps({"model": MODEL, "messages": ASK, "priority": "urgent"}).encode(),
    )
    assert status == 400
    assert body["error"]["param"] == "priority"


def test_generation_metrics_are_exported(client: openai.OpenAI, server: str) -> None:
    client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=2)  # type: ignore[arg-type]
    with urllib.request.urlopen(f"{server}/metrics", timeout=30) as response:
        text = response.read().decode()
    assert f'ainos_llm_requests_total{{model="{MODEL}",outcome="ok"}}' in text
    assert "ainos_llm_time_to_first_token_seconds_count" in text


def test_a_shared_prefix_is_served_from_the_kv_cache(client: openai.OpenAI) -> None:
    system = {"role": "system", "content": "You are a careful assistant. " * 60}
    first = client.chat.completions.create(
        model=MODEL, messages=[system, {"role": "user", "content": "Hi"}], max_tokens=2
    )  # type: ignore[list-item]
    second = client.chat.completions.create(
        model=MODEL, messages=[system, {"role": "user", "content": "Hello"}], max_tokens=2
    )  # type: ignore[list-item]
    assert first.usage is not None
    assert second.usage is not None
    details = second.usage.prompt_tokens_details
    assert details is not None
    assert details.cached_tokens is not None
    assert details.cached_tokens > first.usage.prompt_tokens // 2  # the system prompt, reused


def _deep(depth: int) -> bytes:
    return b'{"model": "%s", "messages": ' % MODEL.encode() + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            b'{"model": "%s", "messages": [{"role": "user", "content": "a \\ud800 b"}]}'
            % MODEL.encode(),
            "lone surrogate",
        ),
        (_deep(100_000), "nested deeper"),
        (_deep(70), "nested deeper"),
        (
            b'{"model": "%s", "messages": [], "seed": %s}' % (MODEL.encode(), b"7" * 5000),
            "digits",
        ),
        (
            json.dumps({"model": MODEL, "messages": ASK, "max_tokens": 4294967300}).encode(),
            "max_tokens must be an integer from 1 to 2147483647",
        ),
        (
            json.dumps({"model": MODEL, "messages": ASK, "max_tokens": 10**18}).encode(),
            "max_tokens must be an integer from 1 to 2147483647",
        ),
        (
            json.dumps({"model": MODEL, "messages": ASK, "temperature": float("nan")}).encode(),
            "NaN is not JSON",
        ),
    ],
    ids=["surrogate", "deep", "deeper-than-allowed", "long-integer", "2^32+4", "1e18", "nan"],
)
def test_hostile_bodies_are_400s(server: str, body: bytes, fragment: str) -> None:
    status, document = _post(f"{server}/v1/chat/completions", body)
    assert status == 400
    error = document["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert fragment in error["message"]


def test_a_prompt_far_over_the_window_is_refused_before_tokenising(server: str) -> None:
    """5 MB of text cannot fit 2048 tokens whatever the tokeniser says: refused at once."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 5_000_000}]}
    status, document = _post(f"{server}/v1/chat/completions", json.dumps(body).encode())
    assert status == 400
    assert document["error"]["code"] == "context_length_exceeded"
    assert "characters" in document["error"]["message"]
