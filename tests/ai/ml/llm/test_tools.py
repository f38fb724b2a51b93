"""Constrained tool calls: the bounds put on their strings and arrays, and what an output cut
short still says (crafted outputs, then the real engine)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import ChatStream, LlmService, collect_completion, prepare_chat
from ainos.ai.ml.llm._tools import bound_schema, parse_tool_output, plan_tools

SHELL = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"}},
        "workdir": {"type": "string"},
        "session_id": {"type": "integer"},
        "chars": {"type": "string"},
        "newContent": {"type": "string"},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "tag": {"type": "string", "maxLength": 12, "minLength": 2},
    },
    "required": ["command"],
}


def _tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def test_strings_and_arrays_get_bounds_by_what_they_hold() -> None:
    bounded = bound_schema(SHELL, None)["properties"]
    assert bounded["command"]["maxItems"] == 64
    assert bounded["command"]["items"]["maxLength"] == 4096  # an argument of a command
    assert bounded["workdir"]["maxLength"] == 256  # a path
    assert bounded["chars"]["maxLength"] == 4096
    assert bounded["newContent"]["maxLength"] == 32768  # a body
    assert "maxLength" not in bounded["mode"]  # an enum is bounded already
    assert "maxLength" not in bounded["session_id"]
    assert bounded["tag"]["maxLength"] == 12  # the schema's own bound stays
    assert "maxLength" not in SHELL["properties"]["workdir"]  # the caller's schema is untouched


def test_the_token_budget_caps_every_bound_but_not_below_a_minimum() -> None:
    bounded = bound_schema(SHELL, 8)["properties"]
    assert bounded["workdir"]["maxLength"] == 8
    assert bounded["newContent"]["maxLength"] == 8
    assert bounded["command"]["maxItems"] == 8
    assert bounded["tag"]["maxLength"] == 8
    assert bound_schema(SHELL, 1)["properties"]["tag"]["maxLength"] == 2  # its minLength


def test_nested_schemas_are_bounded_too() -> None:
    schema = {
        "type": "object",
        "properties": {
            "plan": {
                "type": "array",
                "items": {"$ref": "#/$defs/step"},
            },
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "path": {"type": ["string", "null"]},
        },
        "$defs": {"step": {"type": "object", "properties": {"step": {"type": "string"}}}},
    }
    bounded = bound_schema(schema, None)
    assert bounded["properties"]["plan"]["maxItems"] == 64
    assert bounded["$defs"]["step"]["properties"]["step"]["maxLength"] == 4096
    assert bounded["properties"]["note"]["anyOf"][0]["maxLength"] == 4096
    assert bounded["properties"]["path"]["maxLength"] == 256


def test_the_call_schema_bounds_the_arguments_and_the_calls() -> None:
    plan = plan_tools([_tool("shell", SHELL)], "required", parallel=True, max_tokens=100)
    assert plan is not None
    calls = plan.schema["properties"]["tool_calls"]
    assert calls["maxItems"] == 8
    (call,) = calls["items"]["anyOf"]
    # Half of what the JSON around a call leaves of the 100 tokens.
    assert call["properties"]["arguments"]["properties"]["workdir"]["maxLength"] == 30
    assert "4096" not in plan.instructions  # the model is shown the tool as given
    single = plan_tools([_tool("shell", SHELL)], "required", parallel=False)
    assert single is not None
    assert single.schema["properties"]["tool_calls"]["maxItems"] == 1


CALL = {"name": "shell", "arguments": {"command": ["ls"]}}


@pytest.mark.parametrize(
    ("text", "calls"),
    [
        ('{"tool_calls": [{"name": "shell", "arguments": {"chars": ";;;;;;;;', 0),
        ('{"tool_calls": [{"name": "shell", "arguments": {"id": "1234567890123456789', 0),
        ('{"tool_calls": [', 0),
        ('{"tool_calls": [' + json.dumps(CALL), 1),
        ('{"tool_calls": [' + json.dumps(CALL) + ", ", 1),
        ('{"tool_calls": [' + json.dumps(CALL) + ', {"name": "shell", "argu', 1),
        ('{"tool_calls": [' + json.dumps(CALL) + ", " + json.dumps(CALL) + ", {", 2),
    ],
)
def test_a_call_cut_short_keeps_only_the_calls_written_whole(text: str, calls: int) -> None:
    output = parse_tool_output(text)
    assert not output.complete
    assert output.text is None
    assert len(output.calls) == calls
    for call in output.calls:
        assert json.loads(call["function"]["arguments"]) == CALL["arguments"]


def test_a_json_answer_cut_short_is_no_text() -> None:
    output = parse_tool_output('{"city": "Os', json_answer=True)
    assert (output.text, output.calls, output.complete) == (None, [], False)


def test_whole_outputs_are_complete() -> None:
    assert parse_tool_output(json.dumps({"tool_calls": [CALL]})).complete
    assert parse_tool_output('{"content": "hi"}').text == "hi"
    assert parse_tool_output('{"city": "Oslo"}', json_answer=True).text == '{"city": "Oslo"}'


# -- the real engine ------------------------------------------------------------------------

LOOKUP = _tool(
    "lookup",
    {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
)


def test_the_engine_keeps_a_string_argument_within_its_bound(llm_service: LlmService) -> None:
    """Asked for an id far longer than the budget allows, the model still writes a whole
    call: the grammar closes the string at its bound."""
    wanted = "4f8a2c9e71" * 9
    body = {
        "messages": [{"role": "user", "content": f"Call lookup with the id {wanted}"}],
        "tools": [LOOKUP],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "temperature": 0,
        "max_tokens": 100,
    }
    call = prepare_chat(body, DEFAULT_CHAT_MODEL)
    stream = ChatStream(call)
    out, raw = [], []
    # A fresh prompt (no KV cache reuse): earlier tests' cached prefixes shift the logits.
    request = {**call.engine_request, "cache_prompt": False}
    for chunk in llm_service.generate(DEFAULT_CHAT_MODEL, request):
        raw.append(chunk)
        out += stream.feed(chunk)
    completion = collect_completion(call, out + stream.finish(), stream.usage)
    choice = completion["choices"][0]
    text = "".join((c["choices"] or [{}])[0].get("delta", {}).get("content") or "" for c in raw)
    assert choice["finish_reason"] == "tool_calls", text
    (tool_call,) = choice["message"]["tool_calls"]
    assert len(json.loads(tool_call["function"]["arguments"])["id"]) <= 30
