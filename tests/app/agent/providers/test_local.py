"""LocalModel: the on-device model in-process, on the shared engine; the checking and the
repair of constrained tool calls on outputs the constrained engine would never write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from tests.llm_fixtures import TEST_CONTEXT

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import STOPPED_FIELD, LlmService
from ainos.app.agent._model import ModelRequest
from ainos.app.agent.providers import INVALID_TOOL_CALL, LocalModel, read_constrained
from ainos.protocol.agent import Usage
from ainos.protocol.scheduler import ClientIdentity, Priority

from .conftest import CITY, TOOLS


def _ask(text: str, **fields: Any) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "content": text}], temperature=0, **fields)


@pytest.fixture
def local(llm_service: LlmService) -> LocalModel:
    return LocalModel(llm_service, DEFAULT_CHAT_MODEL, client=ClientIdentity(name="agent-test"))


# -- on the real engine ---------------------------------------------------------------------


def test_traits_of_the_packaged_model(local: LocalModel) -> None:
    traits = local.traits
    assert (traits.native_tools, traits.small) == (False, True)
    assert traits.context_tokens == TEST_CONTEXT
    assert local.name == DEFAULT_CHAT_MODEL


def test_text_streams_and_usage_is_counted(local: LocalModel) -> None:
    pieces: list[str] = []
    reply = local.complete(
        _ask("What is the capital of France?", max_output_tokens=40), pieces.append
    )
    assert reply.text
    assert "".join(pieces) == reply.text
    assert len(pieces) > 1
    assert reply.tool_calls == ()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.input_tokens > 0
    assert 0 < reply.usage.output_tokens <= 40


def test_a_tool_call_comes_back_valid(local: LocalModel) -> None:
    pieces: list[str] = []
    reply = local.complete(
        _ask("Read the file README.md", tools=TOOLS, tool_choice="required", max_output_tokens=200),
        pieces.append,
    )
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls
    for call in reply.tool_calls:
        assert call.name in {tool.name for tool in TOOLS}
        assert isinstance(call.arguments["path"], str)
        assert call.call_id.startswith("call_")
    assert pieces == []  # tool-call JSON is not text
    message = reply.assistant_message()
    assert message["tool_calls"][0]["function"]["name"] == reply.tool_calls[0].name


def test_an_output_schema_gives_valid_json(local: LocalModel) -> None:
    reply = local.complete(
        _ask("Name a city and its country.", output_schema=CITY, max_output_tokens=60)
    )
    document = json.loads(reply.text)
    assert isinstance(document["city"], str)
    assert isinstance(document["country"], str)


def test_a_tool_result_in_the_history_is_read(local: LocalModel) -> None:
    """The loop's second step: the call and its result, then an answer without tools."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
    }
    messages = [
        {"role": "user", "content": "What does README.md say?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ainos: an AI-native OS layer."},
    ]
    reply = local.complete(
        ModelRequest(messages=messages, tool_choice="none", temperature=0, max_output_tokens=30)
    )
    assert reply.text
    assert reply.tool_calls == ()


# -- checking and repairing, on scripted outputs --------------------------------------------


class _ScriptedService:
    """Stands in for LlmService where the test needs outputs the constrained engine would
    never write: each generation streams the next output of the script, a few characters a
    chunk, then the finish and the usage."""

    def __init__(self, *outputs: str, stopped: bool = False) -> None:
        self.outputs = list(outputs)
        self.requests: list[dict[str, Any]] = []
        self.stopped = stopped

    def generate(self, alias: str, request: dict[str, Any], **_: Any) -> Iterator[dict[str, Any]]:
        self.requests.append(request)
        text = self.outputs.pop(0)
        for start in range(0, len(text), 4):
            yield {"choices": [{"index": 0, "delta": {"content": text[start : start + 4]}}]}
        end: dict[str, Any] = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        if self.stopped:
            end[STOPPED_FIELD] = "repetition"
        yield end
        usage = {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}
        yield {"choices": [], "usage": {**usage, "prompt_tokens_details": {"cached_tokens": 20}}}


def _scripted(*outputs: str, stopped: bool = False) -> tuple[LocalModel, _ScriptedService]:
    service = _ScriptedService(*outputs, stopped=stopped)
    model = LocalModel(
        cast(LlmService, service), DEFAULT_CHAT_MODEL, priority=Priority.REALTIME, small=True
    )
    return model, service


def _calls(name: str, **arguments: Any) -> str:
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})


def test_an_invalid_call_is_repaired_once() -> None:
    faulty = _calls("delete_everything")
    model, service = _scripted(faulty, _calls("read_file", path="a.py"))
    reply = model.complete(_ask("Read a.py", tools=TOOLS))
    assert [(c.name, dict(c.arguments)) for c in reply.tool_calls] == [
        ("read_file", {"path": "a.py"})
    ]
    assert reply.finish_reason == "tool_calls"
    assert reply.usage == Usage(input_tokens=100, cached_input_tokens=40, output_tokens=14)
    first, second = service.requests
    assert second["messages"][:-2] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": faulty}
    assert "no tool named 'delete_everything'" in second["messages"][-1]["content"]


def test_a_call_missing_an_argument_is_repaired_with_its_name() -> None:
    model, service = _scripted(_calls("read_file", limit=3), _calls("read_file", path="a.py"))
    assert model.complete(_ask("Read a.py", tools=TOOLS)).tool_calls
    assert "lacks the required property 'path'" in service.requests[1]["messages"][-1]["content"]


def test_still_invalid_after_the_repair_is_a_text_answer() -> None:
    second = _calls("read_file", path=7)
    model, _ = _scripted(_calls("rm"), second)
    reply = model.complete(_ask("Read a.py", tools=TOOLS))
    assert (reply.text, reply.tool_calls) == (second, ())
    assert reply.finish_reason == INVALID_TOOL_CALL


def test_a_text_answer_streams_as_it_comes_in() -> None:
    model, service = _scripted(json.dumps({"content": 'Hello, "world" \u00e9\n'}))
    pieces: list[str] = []
    reply = model.complete(_ask("Say hello", tools=TOOLS), pieces.append)
    assert reply.text == 'Hello, "world" \u00e9\n'
    assert "".join(pieces) == reply.text
    assert len(pieces) > 1
    assert len(service.requests) == 1


def test_a_stopped_loop_finishes_as_repetition() -> None:
    model, _ = _scripted("la femme, la femme, la femme", stopped=True)
    reply = model.complete(_ask("What is the capital of France?"))
    assert reply.finish_reason == "repetition"


@pytest.mark.parametrize(
    ("output", "finish", "text", "problem"),
    [
        ('{"content": "cut sho', "length", "cut sho", None),
        ('{"tool_calls": [{"name": "read_fi', "length", "", "cut off at the token limit"),
        ('{"tool_calls": []}', "stop", "", "non-empty array"),
        ('{"other": 1}', "stop", "", "neither"),
    ],
)
def test_constrained_outputs_read(output: str, finish: str, text: str, problem: str | None) -> None:
    attempt = read_constrained(output, finish, Usage(), TOOLS)
    assert attempt.reply.text == text
    if problem is None:
        assert attempt.problems == ()
        assert attempt.reply.finish_reason == finish
    else:
        assert problem in attempt.problems[0]
        assert attempt.output == output


def test_a_json_answer_is_the_document() -> None:
    attempt = read_constrained('{"city": "Oslo"}', "stop", Usage(), TOOLS, json_answer=True)
    assert (attempt.reply.text, attempt.problems) == ('{"city": "Oslo"}', ())
