"""The Responses API layer: requests translated to chat completions, chat chunks turned into
Responses events and objects, checked against the ``openai`` package's own types."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from ainos.app.api._responses import (
    ResponseNotFound,
    ResponsesRequestError,
    ResponseStore,
    ResponsesTurn,
    collect_response,
    stream_events,
    to_chat,
)
from ainos.errors import AinosError, ContextLengthExceeded, InvalidArgument, NotFound

_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


# ---------------------------------------------------------------------------- test data helpers


def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "tiny",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


def call_delta(index: int, *, arguments: str = "", **first: str) -> dict[str, Any]:
    """A ``tool_calls`` delta; ``id`` and ``name`` given only on a call's first piece."""
    piece: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if "id" in first:
        piece |= {"id": first["id"], "type": "function"}
    if "name" in first:
        piece["function"]["name"] = first["name"]
    return chunk({"tool_calls": [piece]})


async def feed(
    chunks: Iterable[dict[str, Any]], error: AinosError | None = None
) -> AsyncIterator[dict[str, Any]]:
    for item in chunks:
        yield item
    if error is not None:
        raise error


def text_chunks(*pieces: str, finish: str = "stop") -> list[dict[str, Any]]:
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": piece}) for piece in pieces),
        chunk({}, finish, _USAGE),
    ]


def run_stream(
    turn: ResponsesTurn,
    store: ResponseStore,
    chunks: Iterable[dict[str, Any]],
    error: AinosError | None = None,
) -> list[dict[str, Any]]:
    async def consume() -> list[dict[str, Any]]:
        return [event async for event in stream_events(turn, feed(chunks, error), store)]

    events = asyncio.run(consume())
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        if event["type"] != "response.failed":
            _EVENT.validate_python(event)
    return events


def run_collect(
    turn: ResponsesTurn,
    store: ResponseStore,
    chunks: Iterable[dict[str, Any]],
    error: AinosError | None = None,
) -> dict[str, Any]:
    response = asyncio.run(collect_response(turn, feed(chunks, error), store))
    Response.model_validate(response)
    return response


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def turn_for(body: dict[str, Any], store: ResponseStore | None = None) -> ResponsesTurn:
    return to_chat({"model": "tiny", **body}, store or ResponseStore())


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}

# ---------------------------------------------------------------------------- streaming

TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_a_text_turn_streams_openais_events_in_order() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Say hello"}, store)
    events = run_stream(turn, store, text_chunks("Hel", "lo, ", "world"))

    assert types(events) == TEXT_EVENTS
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []
    added = events[2]["item"]
    assert added["type"] == "message"
    assert added["status"] == "in_progress"
    assert added["content"] == []
    assert events[3]["part"] == {
        "type": "output_text",
        "text": "",
        "annotations": [],
        "logprobs": [],
    }
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert {(e["item_id"], e["output_index"], e["content_index"]) for e in deltas} == {
        (added["id"], 0, 0)
    }
    assert "".join(e["delta"] for e in deltas) == "Hello, world"
    assert events[7]["text"] == "Hello, world"
    assert events[8]["part"]["text"] == "Hello, world"
    assert events[9]["item"]["status"] == "completed"

    final = events[-1]["response"]
    parsed = Response.model_validate(final)
    assert parsed.id == turn.response_id
    assert parsed.status == "completed"
    assert parsed.output_text == "Hello, world"
    assert final["usage"] == {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 17,
    }
    assert final["completed_at"] is not None


def test_response_ids_have_openais_shape() -> None:
    turn = turn_for({"input": "hi"})
    assert turn.response_id.startswith("resp_")
    assert len(turn.response_id) == len("resp_") + 32
    int(turn.response_id.removeprefix("resp_"), 16)
    assert turn.response_id != turn_for({"input": "hi"}).response_id


def test_tool_call_deltas_become_one_function_call_item() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Weather in Paris?", "tools": [WEATHER_TOOL]}, store)
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        call_delta(0, id="call_abc", name="get_weather"),
        call_delta(0, arguments='{"ci'),
        call_delta(0, arguments='ty": "Pa'),
        call_delta(0, arguments='ris"}'),
        chunk({}, "tool_calls", _USAGE),
    ]
    events = run_stream(turn, store, chunks)

    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = events[2]["item"]
    assert added["type"] == "function_call"
    assert added["id"].startswith("fc_")
    assert added["call_id"] == "call_abc"
    assert added["name"] == "get_weather"
    assert added["arguments"] == ""
    assert events[6]["arguments"] == '{"city": "Paris"}'
    output = events[-1]["response"]["output"]
    assert output == [
        {
            "id": added["id"],
            "type": "function_call",
            "status": "completed",
            "call_id": "call_abc",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        }
    ]
    assert Response.model_validate(events[-1]["response"]).output_text == ""


def test_text_then_parallel_calls_are_items_one_after_another() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Weather in Paris and Rome?", "tools": [WEATHER_TOOL]}, store)
    chunks = [
        chunk({"content": "Checking."}),
        call_delta(0, id="call_1", name="get_weather", arguments='{"city":'),
        call_delta(0, arguments='"Paris"}'),
        call_delta(1, id="call_2", name="get_weather", arguments='{"city":"Rome"}'),
        chunk({}, "tool_calls"),
        {**chunk({}), "choices": [], "usage": _USAGE},  # usage in a chunk of its own
    ]
    events = run_stream(turn, store, chunks)

    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["message", "function_call", "function_call"]
    assert [item["call_id"] for item in output[1:]] == ["call_1", "call_2"]
    assert [item["arguments"] for item in output[1:]] == ['{"city":"Paris"}', '{"city":"Rome"}']
    # Each item is finished before the next is added.
    lifecycle = [
        (e["type"], e["output_index"])
        for e in events
        if e["type"] in ("response.output_item.added", "response.output_item.done")
    ]
    assert lifecycle == [
        ("response.output_item.added", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.output_item.done", 1),
        ("response.output_item.added", 2),
        ("response.output_item.done", 2),
    ]
    assert events[-1]["response"]["usage"]["total_tokens"] == 17
    # Stored for chaining as one assistant message: its text and both calls.
    assert store.get(turn.response_id).output_messages == (
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
    )


def test_more_arguments_for_a_finished_call_fail_the_response() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "x", "tools": [WEATHER_TOOL]}, store)
    chunks = [
        call_delta(0, id="call_1", name="get_weather", arguments="{"),
        call_delta(1, id="call_2", name="get_weather", arguments="{}"),
        call_delta(0, arguments="}"),
    ]
    events = run_stream(turn, store, chunks)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "server_error"
    _EVENT.validate_python(events[-1])


def test_length_finish_gives_an_incomplete_response() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Tell a long story", "max_output_tokens": 3}, store)
    events = run_stream(turn, store, text_chunks("Once", " upon", finish="length"))

    assert events[-1]["type"] == "response.incomplete"
    final = events[-1]["response"]
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["max_output_tokens"] == 3
    assert final["completed_at"] is None
    assert final["output"][0]["status"] == "incomplete"
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["status"] == "incomplete"
    assert Response.model_validate(final).output_text == "Once upon"
    assert turn.response_id in store


def test_context_overflow_mid_stream_ends_with_response_failed() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    error = ContextLengthExceeded(
        "the prompt needs 5000 tokens; the context holds 4096",
        prompt_tokens=5000,
        context_tokens=4096,
    )
    events = run_stream(turn, store, [chunk({"content": "Par"})], error)

    assert types(events)[:-1] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["output"] == []  # the half-made message is dropped
    assert failed["response"]["error"] == {
        "code": "context_length_exceeded",
        "message": "the prompt needs 5000 tokens; the context holds 4096",
    }
    # OpenAI's servers send this code (clients such as Codex match on it), though the SDK's
    # Literal of codes lacks it; everything else about the event is the documented shape.
    relabelled = copy.deepcopy(failed)
    relabelled["response"]["error"]["code"] = "server_error"
    _EVENT.validate_python(relabelled)


def test_other_engine_errors_fail_as_server_error() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    events = run_stream(turn, store, [], AinosError("the engine crashed"))
    assert types(events) == ["response.created", "response.in_progress", "response.failed"]
    assert events[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "the engine crashed",
    }
    _EVENT.validate_python(events[-1])


def test_a_response_is_stored_before_its_final_event_is_seen() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)

    async def stored_when_completed() -> bool:
        async for event in stream_events(turn, feed(text_chunks("Hi")), store):
            if event["type"] == "response.completed":
                return turn.response_id in store
        raise AssertionError("no response.completed")

    assert asyncio.run(stored_when_completed())
    assert store.response(turn.response_id)["output"][0]["content"][0]["text"] == "Hi"


def test_leaving_the_stream_early_closes_the_engine_stream() -> None:
    closed = threading.Event()

    async def engine() -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                yield chunk({"content": "more "})
        finally:
            closed.set()

    async def read_a_little() -> bool:
        source = engine()  # held here, so only stream_events can close it
        events = stream_events(turn_for({"input": "hi"}), source, ResponseStore())
        async for event in events:
            if event["type"] == "response.output_text.delta":
                break
        await events.aclose()
        return closed.is_set()

    assert asyncio.run(read_a_little())


def test_a_silent_stream_repeats_in_progress_until_the_engine_speaks() -> None:
    """A tool call held until whole leaves the stream silent: the client is told, with
    ``response.in_progress`` (a valid event, numbered in order), that the response goes on."""
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    speak = asyncio.Event()

    async def engine() -> AsyncIterator[dict[str, Any]]:
        yield chunk({"role": "assistant", "content": ""})
        await speak.wait()  # the engine is busy: nothing to send
        for piece in text_chunks("Hi")[1:]:
            yield piece

    async def consume() -> list[dict[str, Any]]:
        events = []
        async for event in stream_events(turn, engine(), store, keepalive_s=0.01):
            events.append(event)
            if sum(e["type"] == "response.in_progress" for e in events) == 3:
                speak.set()  # two repeats seen: let the engine go on
        return events

    events = asyncio.run(consume())
    kinds = [e["type"] for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.in_progress",
        "response.in_progress",
    ]
    assert kinds[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        _EVENT.validate_python(event)
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hi"


def test_store_false_keeps_nothing() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi", "store": False}, store)
    events = run_stream(turn, store, text_chunks("Hi"))
    assert events[-1]["response"]["store"] is False
    assert len(store) == 0
    with pytest.raises(NotFound):
        turn_for({"input": "again", "previous_response_id": turn.response_id}, store)


def test_without_usage_from_the_engine_usage_is_null() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    events = run_stream(turn, store, [chunk({"content": "Hi"}), chunk({}, "stop")])
    assert events[-1]["response"]["usage"] is None
    Response.model_validate(events[-1]["response"])


# ---------------------------------------------------------------------------- non-streaming


def test_collect_response_is_the_final_object_of_the_stream() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi", "instructions": "Be brief.", "metadata": {"k": "v"}}, store)
    response = run_collect(turn, store, text_chunks("Hel", "lo"))
    streamed = run_stream(turn, ResponseStore(), text_chunks("Hel", "lo"))[-1]["response"]

    def without_ids(obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        for item in obj["output"]:
            del item["id"]
        obj["completed_at"] = None
        return obj

    assert without_ids(response) == without_ids(streamed)
    assert response["instructions"] == "Be brief."
    assert response["metadata"] == {"k": "v"}
    assert store.response(turn.response_id) == response


def test_collect_response_raises_engine_errors_and_stores_nothing() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    error = ContextLengthExceeded("too long", prompt_tokens=9, context_tokens=8)
    with pytest.raises(ContextLengthExceeded, match="too long"):
        run_collect(turn, store, [chunk({"content": "a"})], error)
    assert len(store) == 0


def test_response_echoes_the_request() -> None:
    body = {
        "model": "tiny",
        "input": "hi",
        "instructions": "Be brief.",
        "tools": [WEATHER_TOOL, {"type": "web_search"}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "temperature": 0.5,
        "top_p": 0.9,
        "max_output_tokens": 64,
        "parallel_tool_calls": False,
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "metadata": {"session": "1"},
    }
    store = ResponseStore()
    response = run_collect(to_chat(body, store), store, text_chunks("{}"))
    assert response["model"] == "tiny"
    assert response["tools"] == [WEATHER_TOOL]
    assert response["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert (response["temperature"], response["top_p"]) == (0.5, 0.9)
    assert response["max_output_tokens"] == 64
    assert response["parallel_tool_calls"] is False
    assert response["text"] == {"format": {"type": "json_object"}, "verbosity": "low"}
    assert response["metadata"] == {"session": "1"}
    assert response["previous_response_id"] is None


# ---------------------------------------------------------------------------- request translation


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    turn = turn_for({"input": "Hello", "instructions": "You are terse.", "stream": True})
    assert turn.chat_request == {
        "model": "tiny",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello"},
        ],
        "max_tokens": None,
        "temperature": None,
        "top_p": None,
        "stop": None,
        "response_format": None,
        "parallel_tool_calls": True,
    }
    assert turn.history == [{"role": "user", "content": "Hello"}]
    assert turn.stream is True
    assert turn.store is True


def test_sampling_fields_pass_through() -> None:
    turn = turn_for(
        {
            "input": "hi",
            "max_output_tokens": 100,
            "temperature": 0,
            "top_p": 1,
            "parallel_tool_calls": False,
        }
    )
    request = turn.chat_request
    assert (request["max_tokens"], request["temperature"], request["top_p"]) == (100, 0.0, 1.0)
    assert request["parallel_tool_calls"] is False


def test_a_missing_model_takes_the_default() -> None:
    turn = to_chat({"input": "hi"}, ResponseStore(), default_model="local-llm")
    assert turn.model == turn.chat_request["model"] == "local-llm"


def test_input_items_become_chat_messages() -> None:
    items = [
        {"role": "developer", "content": "Use metric units."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is "},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_file", "file_id": "file_1"},
                {"type": "input_text", "text": "the weather?"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "role": "assistant",
            "id": None,
            "status": None,
            "content": [
                {"type": "output_text", "text": "Let me check.", "annotations": None},
                {"type": "refusal", "refusal": ""},
            ],
        },
        {
            "type": "function_call",
            "id": None,
            "status": None,
            "call_id": "c1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "item_reference", "id": "msg_1"},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": None},
        {"type": "function_call_output", "call_id": "c1", "output": "18C", "id": None},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "21"}, {"type": "input_text", "text": "C"}],
            "status": None,
        },
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]
    turn = turn_for({"input": items, "tools": [WEATHER_TOOL]})
    assert turn.history == [
        {"role": "system", "content": "Use metric units."},
        {"role": "user", "content": "What is the weather?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18C"},
        {"role": "tool", "tool_call_id": "c2", "content": "21C"},
        {"role": "user", "content": "Thanks"},
    ]


def test_refusal_text_is_kept_as_text() -> None:
    turn = turn_for(
        {"input": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}]}
    )
    assert turn.history == [{"role": "assistant", "content": "No."}]


def test_unsupported_tools_are_ignored_and_a_choice_of_them_means_auto() -> None:
    body = {
        "input": "hi",
        "tools": [
            {"type": "web_search"},
            {"type": "file_search", "vector_store_ids": ["vs_1"]},
            WEATHER_TOOL,
            {"type": "mcp", "server_label": "x", "server_url": "https://example.invalid"},
            {"type": "custom", "name": "grammar_tool"},
            {"type": "local_shell"},
        ],
        "tool_choice": {"type": "web_search"},
    }
    turn = turn_for(body)
    assert turn.chat_request["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert turn.chat_request["tool_choice"] == "auto"
    assert turn.tools == [WEATHER_TOOL]
    assert turn.tool_choice == "auto"


def test_only_unsupported_tools_send_no_tools_to_the_engine() -> None:
    turn = turn_for({"input": "hi", "tools": [{"type": "web_search"}], "tool_choice": "required"})
    assert "tools" not in turn.chat_request
    assert "tool_choice" not in turn.chat_request
    assert turn.tools == []


def test_a_function_tool_without_parameters_takes_no_arguments() -> None:
    turn = turn_for({"input": "hi", "tools": [{"type": "function", "name": "now"}]})
    assert turn.chat_request["tools"] == [
        {
            "type": "function",
            "function": {"name": "now", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    Response.model_validate(run_collect(turn, ResponseStore(), text_chunks("ok")))


@pytest.mark.parametrize(
    ("choice", "chat_choice", "echo"),
    [
        ("auto", "auto", "auto"),
        ("none", "none", "none"),
        ("required", "required", "required"),
        (None, "auto", "auto"),
        (
            {"type": "function", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "name": "get_weather"},
        ),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "name": "get_weather"},
        ),
        ({"type": "file_search"}, "auto", "auto"),
    ],
)
def test_tool_choice_translation(choice: Any, chat_choice: Any, echo: Any) -> None:
    turn = turn_for({"input": "hi", "tools": [WEATHER_TOOL], "tool_choice": choice})
    assert turn.chat_request["tool_choice"] == chat_choice
    assert turn.tool_choice == echo


@pytest.mark.parametrize(
    ("text", "response_format", "echo"),
    [
        (None, None, {"format": {"type": "text"}}),
        ({"format": {"type": "text"}}, None, {"format": {"type": "text"}}),
        ({"format": {"type": "json_object"}}, {"type": "json_object"}, None),
        (
            {
                "format": {
                    "type": "json_schema",
                    "name": "city",
                    "schema": {"type": "object"},
                    "strict": True,
                }
            },
            {
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True},
            },
            None,
        ),
    ],
)
def test_text_format_translation(text: Any, response_format: Any, echo: Any) -> None:
    body: dict[str, Any] = {"input": "hi"}
    if text is not None:
        body["text"] = text
    turn = turn_for(body)
    assert turn.chat_request["response_format"] == response_format
    assert turn.text == (echo or text)
    Response.model_validate(run_collect(turn, ResponseStore(), text_chunks("{}")))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "input"),
        ({"input": None}, "input"),
        ({"input": 42}, "input"),
        ({"input": {"role": "user", "content": "hi"}}, "input"),
        ({"input": []}, "input"),
        ({"input": ["hi"]}, "input[0]"),
        ({"input": [{"type": "message", "content": "hi"}]}, "input[0].role"),
        ({"input": [{"content": "hi"}]}, "input[0].role"),
        ({"input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 3}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": ["hi"]}]}, "input[0].content[0]"),
        ({"input": [{"type": 7, "role": "user"}]}, "input[0].type"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": 5}]},
            "input[0].output",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        (
            {"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]},
            "input[0].name",
        ),
        (
            {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 1}]},
            "input[0].arguments",
        ),
        ({"input": "hi", "model": None}, "model"),
        ({"input": "hi", "model": 3}, "model"),
        ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "hi", "max_output_tokens": 1.5}, "max_output_tokens"),
        ({"input": "hi", "max_output_tokens": True}, "max_output_tokens"),
        ({"input": "hi", "temperature": 3}, "temperature"),
        ({"input": "hi", "temperature": "hot"}, "temperature"),
        ({"input": "hi", "top_p": 1.5}, "top_p"),
        ({"input": "hi", "instructions": ["be nice"]}, "instructions"),
        ({"input": "hi", "tools": {"type": "function"}}, "tools"),
        ({"input": "hi", "tools": [{"name": "f"}]}, "tools[0].type"),
        ({"input": "hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        (
            {"input": "hi", "tools": [{"type": "function", "name": "f", "parameters": "x"}]},
            "tools[0].parameters",
        ),
        ({"input": "hi", "tool_choice": "always"}, "tool_choice"),
        ({"input": "hi", "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
        ({"input": "hi", "tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"input": "hi", "text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"input": "hi", "text": {"format": {"type": "json_schema"}}}, "text.format.schema"),
        ({"input": "hi", "text": "json"}, "text"),
        ({"input": "hi", "stream": "yes"}, "stream"),
        ({"input": "hi", "store": 1}, "store"),
        ({"input": "hi", "parallel_tool_calls": "no"}, "parallel_tool_calls"),
        ({"input": "hi", "metadata": {"n": 1}}, "metadata.n"),
        ({"input": "hi", "previous_response_id": 5}, "previous_response_id"),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ResponsesRequestError) as caught:
        to_chat({"model": "tiny", **body}, ResponseStore())
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.param == param
    assert param in str(caught.value)


def test_other_request_fields_are_accepted() -> None:
    turn = turn_for(
        {
            "input": "hi",
            "user": "u1",
            "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "low"},
            "truncation": "auto",
            "service_tier": "auto",
            "prompt_cache_key": "k",
            "safety_identifier": "s",
            "background": False,
            "max_tool_calls": 3,
            "top_logprobs": 0,
        }
    )
    assert turn.chat_request["messages"] == [{"role": "user", "content": "hi"}]


# ---------------------------------------------------------------------------- chaining


def test_previous_response_id_rebuilds_the_conversation() -> None:
    store = ResponseStore()
    first = turn_for(
        {"input": "Weather in Paris?", "instructions": "First rules.", "tools": [WEATHER_TOOL]},
        store,
    )
    run_stream(
        first,
        store,
        [
            call_delta(0, id="call_9", name="get_weather", arguments='{"city":"Paris"}'),
            chunk({}, "tool_calls", _USAGE),
        ],
    )
    second = turn_for(
        {
            "previous_response_id": first.response_id,
            "instructions": "Second rules.",
            "input": [{"type": "function_call_output", "call_id": "call_9", "output": "18C"}],
            "tools": [WEATHER_TOOL],
        },
        store,
    )
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    assert second.chat_request["messages"] == [
        {"role": "system", "content": "Second rules."},  # the first instructions are not kept
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_9", "content": "18C"},
    ]
    response = run_collect(second, store, text_chunks("It is 18C."))
    assert response["previous_response_id"] == first.response_id

    third = turn_for({"previous_response_id": second.response_id, "input": "Thanks!"}, store)
    assert third.chat_request["messages"][-3:] == [
        {"role": "tool", "tool_call_id": "call_9", "content": "18C"},
        {"role": "assistant", "content": "It is 18C."},
        {"role": "user", "content": "Thanks!"},
    ]


def test_previous_response_id_alone_continues_the_conversation() -> None:
    store = ResponseStore()
    first = turn_for({"input": "Hi"}, store)
    run_collect(first, store, text_chunks("Hello!"))
    again = turn_for({"previous_response_id": first.response_id}, store)
    assert again.history == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]


def test_an_unknown_previous_response_is_not_found() -> None:
    with pytest.raises(ResponseNotFound) as caught:
        turn_for({"input": "hi", "previous_response_id": "resp_missing"})
    assert isinstance(caught.value, NotFound)
    assert caught.value.param == "previous_response_id"
    assert caught.value.response_id == "resp_missing"
    assert "resp_missing" in str(caught.value)


def test_a_bad_field_is_reported_before_an_unknown_previous_response() -> None:
    with pytest.raises(ResponsesRequestError):
        turn_for({"input": "hi", "previous_response_id": "resp_missing", "temperature": 9})


# ---------------------------------------------------------------------------- the store


def _put(store: ResponseStore, response_id: str) -> None:
    store.put(response_id, [{"role": "user", "content": response_id}], [], {"id": response_id})


def test_the_store_drops_the_least_recently_used() -> None:
    store = ResponseStore(capacity=2)
    _put(store, "a")
    _put(store, "b")
    store.get("a")  # a is now the most recent
    _put(store, "c")
    assert "a" in store
    assert "c" in store
    assert "b" not in store
    assert len(store) == 2
    with pytest.raises(NotFound):
        store.get("b")


def test_the_store_keeps_copies() -> None:
    store = ResponseStore()
    history = [{"role": "user", "content": "hi"}]
    response: dict[str, Any] = {"id": "r", "output": []}
    store.put("r", history, [], response)
    history[0]["content"] = "changed"
    response["output"].append("changed")
    store.get("r").conversation[0]["content"] = "changed too"
    store.response("r")["id"] = "changed"
    assert store.get("r").conversation == [{"role": "user", "content": "hi"}]
    assert store.response("r") == {"id": "r", "output": []}


def test_the_store_deletes() -> None:
    store = ResponseStore()
    _put(store, "r")
    store.delete("r")
    assert "r" not in store
    with pytest.raises(ResponseNotFound):
        store.delete("r")


def test_the_store_stays_bounded_under_threads() -> None:
    store = ResponseStore(capacity=50)

    def writer(worker: int) -> None:
        for n in range(200):
            _put(store, f"{worker}-{n}")
            store.get(f"{worker}-{n}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store) == 50


def test_a_store_needs_room() -> None:
    with pytest.raises(InvalidArgument):
        ResponseStore(capacity=0)


def test_stored_output_survives_json() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "hi"}, store)
    run_collect(turn, store, text_chunks("Hi"))
    json.dumps(store.response(turn.response_id))


# ------------------------------------------------------------- constrained calls cut short


def _engine_chunks(text: str, finish: str) -> list[dict[str, Any]]:
    """What the engine streams for a constrained output: its JSON in pieces, then the end."""
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
    return [
        *(chunk({"content": piece}) for piece in pieces),
        chunk({}, finish),
        {"choices": [], "usage": _USAGE},
    ]


def _client_chunks(turn: ResponsesTurn, engine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chat layer's client chunks for a turn (as the route makes them)."""
    from ainos.ai.ml.llm import ChatStream, prepare_chat

    stream = ChatStream(prepare_chat(turn.chat_request, None))
    return [out for piece in engine for out in stream.feed(piece)] + stream.finish()


RUNAWAY = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "' + "9081726354" * 9
WHOLE_CALL = json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})


@pytest.mark.parametrize("finish", ["length", "stop"])
def test_a_tool_call_cut_short_is_incomplete_with_no_message(finish: str) -> None:
    """Cut by the limit ("length") or stopped in a loop (the guard says "stop"): the response
    is incomplete, and no item carries the broken JSON, streamed or not."""
    store = ResponseStore()
    turn = turn_for({"input": "Weather?", "tools": [WEATHER_TOOL], "stream": True}, store)
    events = run_stream(turn, store, _client_chunks(turn, _engine_chunks(RUNAWAY, finish)))
    assert types(events) == ["response.created", "response.in_progress", "response.incomplete"]
    final = events[-1]["response"]
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"] == []
    assert "9081726354" not in json.dumps(events)
    response = run_collect(turn, store, _client_chunks(turn, _engine_chunks(RUNAWAY, finish)))
    assert (response["status"], response["output"]) == ("incomplete", [])


def test_the_calls_before_a_broken_one_are_kept_in_an_incomplete_response() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Weather?", "tools": [WEATHER_TOOL]}, store)
    output = '{"tool_calls": [' + WHOLE_CALL + ', {"name": "get_weather", "arguments": {"ci'
    response = run_collect(turn, store, _client_chunks(turn, _engine_chunks(output, "length")))
    assert response["status"] == "incomplete"
    (item,) = response["output"]
    assert (item["type"], item["name"], item["status"]) == (
        "function_call",
        "get_weather",
        "incomplete",
    )
    assert json.loads(item["arguments"]) == {"city": "Oslo"}


def test_a_text_answer_cut_short_keeps_its_text() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Hi", "tools": [WEATHER_TOOL]}, store)
    engine = _engine_chunks('{"content": "Hello, how can I', "length")
    response = run_collect(turn, store, _client_chunks(turn, engine))
    assert response["status"] == "incomplete"
    assert Response.model_validate(response).output_text == "Hello, how can I"


def test_an_output_that_names_itself_instead_of_a_call_is_accepted() -> None:
    """Codex sends context of its own as a function_call_output with a name and no call_id."""
    from ainos.ai.ml.llm import prepare_chat

    item = {"type": "function_call_output", "name": "goal_objective", "output": "tidy up"}
    turn = turn_for({"input": [{"role": "user", "content": "Hi"}, item]})
    assert turn.history[-1] == {
        "role": "tool",
        "tool_call_id": "",
        "content": "tidy up",
        "name": "goal_objective",
    }
    engine = prepare_chat(turn.chat_request, None).engine_request
    assert engine["messages"][-1] == {
        "role": "user",
        "content": "Result of goal_objective: tidy up",
    }


def test_a_text_answer_stopped_in_a_loop_completes_with_its_text() -> None:
    store = ResponseStore()
    turn = turn_for({"input": "Hi", "tools": [WEATHER_TOOL]}, store)
    looped = '{"content": "Hello! ' + "27." * 40
    response = run_collect(turn, store, _client_chunks(turn, _engine_chunks(looped, "length")))
    assert response["status"] == "completed"
    assert Response.model_validate(response).output_text == "Hello! " + "27." * 40
