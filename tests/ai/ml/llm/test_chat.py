"""Chat requests checked and translated; engine chunks turned into the client's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ainos.ai.ml.llm._chat import ChatStream, RequestError, collect_completion, prepare_chat

USER = [{"role": "user", "content": "hi"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _engine_chunk(text: str = "", finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}], **extra}


def test_sampling_fields_pass_through_checked() -> None:
    call = prepare_chat(
        {
            "model": "m",
            "messages": USER,
            "temperature": 0,
            "top_p": 0.5,
            "max_completion_tokens": 7,
            "stop": "END",
            "seed": 3,
        },
        None,
    )
    request = call.engine_request
    assert request["temperature"] == 0
    assert request["top_p"] == 0.5
    assert request["max_tokens"] == 7
    assert request["stop"] == ["END"]
    assert request["seed"] == 3


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"model": "m", "messages": USER, "temperature": 3}, "temperature"),
        ({"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": USER, "n": 2}, "n"),
        ({"model": "m", "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "m", "messages": USER, "response_format": {"type": "xml"}}, "response_format"),
        ({"model": "m", "messages": USER, "tools": [{"type": "web"}]}, "tools"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            "messages[0]",
        ),
    ],
)
def test_bad_requests_name_their_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        prepare_chat(body, None)
    assert caught.value.param == param


def test_system_and_developer_messages_merge_first() -> None:
    call = prepare_chat(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "developer", "content": "be brief"},
                {"role": "system", "content": "be kind"},
            ],
        },
        None,
    )
    messages = call.engine_request["messages"]
    assert messages[0] == {"role": "system", "content": "be brief\n\nbe kind"}
    assert messages[1] == {"role": "user", "content": "hi"}


def test_text_streams_through_with_usage_at_the_end() -> None:
    call = prepare_chat(
        {"model": "m", "messages": USER, "stream": True, "stream_options": {"include_usage": True}},
        None,
    )
    stream = ChatStream(call)
    out = stream.feed(_engine_chunk("Hel")) + stream.feed(_engine_chunk("lo"))
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    out += stream.feed(_engine_chunk("", "stop", usage=usage)) + stream.finish()
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in out if c["choices"])
    assert text == "Hello"
    assert out[-2]["choices"][0]["finish_reason"] == "stop"
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == usage
    assert {c["id"] for c in out} == {call.completion_id}


def test_tools_constrain_the_output_and_come_back_as_tool_calls() -> None:
    call = prepare_chat(
        {"model": "m", "messages": USER, "tools": [WEATHER], "tool_choice": "required"}, None
    )
    schema = call.engine_request["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["tool_calls"]  # required: no text branch
    assert "get_weather" in call.engine_request["messages"][0]["content"]
    stream = ChatStream(call)
    reply = json.dumps({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]})
    held = stream.feed(_engine_chunk(reply[:10])) + stream.feed(_engine_chunk(reply[10:], "stop"))
    assert all(
        "content" not in c["choices"][0]["delta"] or not c["choices"][0]["delta"]["content"]
        for c in held
    )
    out = held + stream.finish()
    completion = collect_completion(call, out, None)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Oslo"}
    assert tool_call["id"].startswith("call_")


def test_auto_tools_may_answer_in_text() -> None:
    call = prepare_chat({"model": "m", "messages": USER, "tools": [WEATHER]}, None)
    assert "anyOf" in call.engine_request["response_format"]["json_schema"]["schema"]
    stream = ChatStream(call)
    out = stream.feed(_engine_chunk(json.dumps({"content": "Hello!"}), "stop")) + stream.finish()
    completion = collect_completion(call, out, None)
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Hello!"}
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_tool_turns_are_rendered_for_any_template() -> None:
    history = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    call = prepare_chat({"model": "m", "messages": history, "tools": [WEATHER]}, None)
    roles = [m["role"] for m in call.engine_request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert call.engine_request["messages"][-1]["content"] == "Result of get_weather: sunny"


def test_tool_choice_naming_an_unknown_tool_is_refused() -> None:
    with pytest.raises(RequestError):
        prepare_chat(
            {
                "model": "m",
                "messages": USER,
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            None,
        )


CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def test_a_response_format_with_tools_shapes_the_answer() -> None:
    call = prepare_chat(
        {
            "model": "m",
            "messages": USER,
            "tools": [WEATHER],
            "response_format": {"type": "json_schema", "json_schema": {"schema": CITY}},
        },
        None,
    )
    assert call.tools is not None
    assert call.tools.json_answer
    schema = call.engine_request["response_format"]["json_schema"]["schema"]
    assert schema["anyOf"][1] == CITY  # the answer branch is the response format's schema
    assert json.dumps(CITY) in call.engine_request["messages"][0]["content"]
    stream = ChatStream(call)
    answer = json.dumps({"city": "Oslo"})
    out = stream.feed(_engine_chunk(answer, "stop")) + stream.finish()
    message = collect_completion(call, out, None)["choices"][0]["message"]
    assert json.loads(message["content"]) == {"city": "Oslo"}
    stream = ChatStream(call)
    reply = json.dumps({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]})
    out = stream.feed(_engine_chunk(reply, "stop")) + stream.finish()
    assert collect_completion(call, out, None)["choices"][0]["finish_reason"] == "tool_calls"


def test_an_answer_cut_short_keeps_its_text() -> None:
    call = prepare_chat({"model": "m", "messages": USER, "tools": [WEATHER]}, None)
    stream = ChatStream(call)
    out = stream.feed(_engine_chunk('{"content": "Hello, w\\u00e9', "length")) + stream.finish()
    choice = collect_completion(call, out, None)["choices"][0]
    assert choice["message"]["content"] == "Hello, wé"
    assert choice["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"content": "a', "a"),
        ('{"content": "a\\', "a"),  # an escape cut in two
        ('{"content": "a\\u00', "a"),
        ('{"content": "a\\\\', "a\\"),
        ('{ "content" : "x\\ny"}', "x\ny"),
        ('{"content": "\\ud83d', ""),  # half a surrogate pair waits for the other
        ('{"content": "\\ud83d\\ude00', "\U0001f600"),
        ('{"tool_calls": [', None),
        ("plain text", None),
    ],
)
def test_answer_prefix_decodes_what_came(text: str, expected: str | None) -> None:
    from ainos.ai.ml.llm import answer_prefix

    assert answer_prefix(text) == expected


def _finished(call_body: dict[str, Any], text: str, finish: str, **extra: Any) -> dict[str, Any]:
    call = prepare_chat(call_body, None)
    stream = ChatStream(call)
    out = stream.feed(_engine_chunk(text, finish, **extra)) + stream.finish()
    return collect_completion(call, out, None)["choices"][0]


TOOLS = {"model": "m", "messages": USER, "tools": [WEATHER]}
CUT_CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "1234567890123456'


@pytest.mark.parametrize("finish", ["length", "stop"])
def test_a_call_cut_short_is_length_without_text(finish: str) -> None:
    """Cut by the token limit, or stopped by the repetition guard (which says "stop"): the
    broken JSON is never the reply's text."""
    choice = _finished(TOOLS, CUT_CALL, finish)
    assert choice["finish_reason"] == "length"
    assert choice["message"] == {"role": "assistant", "content": ""}


def test_the_calls_before_a_broken_one_are_kept() -> None:
    whole = json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})
    choice = _finished(TOOLS, '{"tool_calls": [' + whole + ', {"name": "get_w', "length")
    assert choice["finish_reason"] == "length"
    (tool_call,) = choice["message"]["tool_calls"]
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Oslo"}
    assert not choice["message"]["content"]


def test_a_json_answer_cut_short_is_no_text() -> None:
    body = {
        **TOOLS,
        "response_format": {"type": "json_schema", "json_schema": {"schema": CITY}},
    }
    choice = _finished(body, '{"city": "Os', "length")
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == ""


def test_streamed_chunks_of_a_cut_call_hold_no_json() -> None:
    call = prepare_chat({**TOOLS, "stream": True}, None)
    stream = ChatStream(call)
    out = stream.feed(_engine_chunk(CUT_CALL[:20])) + stream.feed(_engine_chunk(CUT_CALL[20:]))
    out += stream.feed(_engine_chunk("", "stop")) + stream.finish()
    deltas = [c["choices"][0]["delta"] for c in out if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == ""
    assert not any(d.get("tool_calls") for d in deltas)
    assert out[-1]["choices"][0]["finish_reason"] == "length"


def test_an_answer_stopped_in_a_loop_ends_as_text_does() -> None:
    """The guard stopped the answer's text in a loop: "stop" and the text, as for plain text;
    cut by the limit it is "length"."""
    looped = '{"content": "Hello! ' + "27." * 40
    choice = _finished(TOOLS, looped, "length")
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "Hello! " + "27." * 40
    assert _finished(TOOLS, '{"content": "Hello, how are', "length")["finish_reason"] == "length"
