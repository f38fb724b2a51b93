"""The scripted fake model: replies in order, requests recorded, text streamed in pieces."""

from __future__ import annotations

import pytest

from ainos.app.agent._model import Model, ModelReply, ModelRequest, ModelTraits, ToolCall
from ainos.app.agent.providers import FakeScriptedModel
from ainos.errors import AgentError


def _ask(text: str) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "content": text}])


def test_replies_in_order_and_records_requests() -> None:
    call = ToolCall("call_1", "read_file", {"path": "a.py"})

    def echo(request: ModelRequest) -> ModelReply:
        return ModelReply(text=f"you said {request.messages[-1]['content']}")

    model = FakeScriptedModel([ModelReply(tool_calls=(call,)), echo])
    first = model.complete(_ask("read it"))
    assert first.tool_calls == (call,)
    pieces: list[str] = []
    second = model.complete(_ask("thanks"), pieces.append)
    assert second.text == "you said thanks"
    assert "".join(pieces) == second.text
    assert 1 < len(pieces) <= 3
    assert [r.messages[-1]["content"] for r in model.requests] == ["read it", "thanks"]
    assert model.remaining == 0


def test_running_out_of_script_is_a_clear_error() -> None:
    model = FakeScriptedModel([ModelReply(text="only one")], name="fake")
    model.complete(_ask("1"))
    with pytest.raises(AgentError, match="script has 1 replies and request 2 came"):
        model.complete(_ask("2"))


def test_traits_and_name_are_configurable() -> None:
    traits = ModelTraits(native_tools=False, small=True, context_tokens=2048)
    model: Model = FakeScriptedModel([], name="tiny", traits=traits)
    assert (model.name, model.traits) == ("tiny", traits)
