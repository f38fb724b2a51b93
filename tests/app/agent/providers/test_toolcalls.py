"""Tool calls checked against the tools' schemas, and the one repair retry."""

from __future__ import annotations

import pytest

from ainos.app.agent._model import ModelReply, ModelRequest
from ainos.app.agent.providers import (
    INVALID_TOOL_CALL,
    Attempt,
    RawCall,
    complete_with_repair,
    read_calls,
    schema_problems,
)
from ainos.protocol.agent import Usage

from .conftest import TOOLS

USER = [{"role": "user", "content": "Read a.py"}]


def test_a_valid_call_comes_back_with_an_id() -> None:
    calls, problems = read_calls([RawCall("read_file", '{"path": "a.py", "limit": 10}')], TOOLS)
    assert problems == ()
    (call,) = calls
    assert (call.name, dict(call.arguments)) == ("read_file", {"path": "a.py", "limit": 10})
    assert call.call_id.startswith("call_")
    (kept,) = read_calls([RawCall("list_dir", {"path": "."}, "call_7")], TOOLS)[0]
    assert kept.call_id == "call_7"


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (RawCall("rm", {}), "no tool named 'rm'"),
        (RawCall("read_file", "{not json"), "not valid JSON"),
        (RawCall("read_file", "[1]"), "must be a JSON object, not an array"),
        (RawCall("read_file", {}), "lacks the required property 'path'"),
        (RawCall("read_file", {"path": 3}), "arguments.path must be a string, not an integer"),
        (RawCall("read_file", {"path": "a", "limit": "ten"}), "limit must be an integer"),
    ],
)
def test_invalid_calls_say_what_is_wrong(call: RawCall, problem: str) -> None:
    calls, problems = read_calls([call], TOOLS)
    assert calls == ()
    assert len(problems) == 1
    assert problem in problems[0]


def test_nested_schemas_types_and_enums() -> None:
    schema = {
        "type": "object",
        "properties": {
            "mode": {"enum": ["fast", "slow"]},
            "paths": {"type": "array", "items": {"type": "string"}},
            "options": {
                "type": "object",
                "properties": {"depth": {"type": ["integer", "null"]}},
                "required": ["depth"],
            },
        },
    }
    good = {"mode": "fast", "paths": ["a", "b"], "options": {"depth": None}}
    assert schema_problems(good, schema, "arguments") == []
    bad = {"mode": "quick", "paths": ["a", 2], "options": {}}
    assert schema_problems(bad, schema, "arguments") == [
        'arguments.mode must be one of ["fast", "slow"]',
        "arguments.paths[1] must be a string, not an integer",
        "arguments.options lacks the required property 'depth'",
    ]
    assert schema_problems(1.0, {"type": "integer"}, "n") == []  # JSON's 1.0 is an integer
    assert schema_problems(True, {"type": "number"}, "n") == ["n must be a number, not a boolean"]


def _attempts(*attempts: Attempt) -> tuple[list[ModelRequest], object]:
    seen: list[ModelRequest] = []
    queue = list(attempts)

    def attempt(request: ModelRequest) -> Attempt:
        seen.append(request)
        return queue.pop(0)

    return seen, attempt


def test_a_repair_shows_the_model_its_faulty_output_and_what_was_wrong() -> None:
    faulty = Attempt(ModelReply(usage=Usage(input_tokens=10, output_tokens=5)), ("bad",), "OUT")
    fixed = ModelReply(text="ok", usage=Usage(input_tokens=20, output_tokens=3))
    seen, attempt = _attempts(faulty, Attempt(fixed))
    request = ModelRequest(messages=USER, tools=TOOLS)
    reply = complete_with_repair(request, attempt, "do it right")  # type: ignore[arg-type]
    assert reply.text == "ok"
    assert reply.usage == Usage(input_tokens=30, output_tokens=8)  # both attempts count
    retry = seen[1].messages
    assert retry[: len(USER)] == USER
    assert retry[-2] == {"role": "assistant", "content": "OUT"}
    assert retry[-1]["role"] == "user"
    assert "bad" in retry[-1]["content"]
    assert "do it right" in retry[-1]["content"]
    assert seen[1].tools == TOOLS


def test_a_second_invalid_output_becomes_text() -> None:
    faulty = Attempt(ModelReply(usage=Usage(output_tokens=5)), ("bad",), "FIRST")
    again = Attempt(ModelReply(usage=Usage(output_tokens=6)), ("still bad",), "SECOND")
    seen, attempt = _attempts(faulty, again)
    reply = complete_with_repair(ModelRequest(messages=USER), attempt, "")  # type: ignore[arg-type]
    assert len(seen) == 2
    assert (reply.text, reply.tool_calls) == ("SECOND", ())
    assert reply.finish_reason == INVALID_TOOL_CALL
    assert reply.usage.output_tokens == 11


def test_a_valid_first_output_asks_once() -> None:
    seen, attempt = _attempts(Attempt(ModelReply(text="fine")))
    reply = complete_with_repair(ModelRequest(messages=USER), attempt, "")  # type: ignore[arg-type]
    assert (reply.text, len(seen)) == ("fine", 1)
