"""Redaction: the built-in secret patterns, a definition's own, and the model wrapper that
applies them to everything a model is sent."""

from __future__ import annotations

from tests.app.supervisor.conftest import API_TOKEN, AWS_KEY

from ainos.app.agent import ModelReply, ModelRequest
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.supervisor import RedactingModel, Redactor


def test_builtin_patterns_hide_planted_secrets() -> None:
    redactor = Redactor.of(True)
    text = f'AWS_KEY = "{AWS_KEY}"\ntoken: {API_TOKEN}\n'
    cleaned = redactor.text(text)
    assert AWS_KEY not in cleaned
    assert API_TOKEN not in cleaned
    assert "[redacted]" in cleaned
    assert cleaned.startswith("AWS_KEY")  # the name a reader needs stays


def test_false_redacts_nothing_and_lists_are_patterns() -> None:
    assert Redactor.of(False).text(AWS_KEY) == AWS_KEY
    assert not Redactor.of(False)
    assert Redactor.of([r"host-\d+"]).text("on host-42 now") == "on [redacted] now"


def test_a_named_group_keeps_the_rest_of_the_match() -> None:
    redactor = Redactor.of([r"password=(?P<secret>\S+)"])
    assert redactor.text("password=hunter2 ok") == "password=[redacted] ok"


def test_the_model_is_sent_only_redacted_messages() -> None:
    inner = FakeScriptedModel([ModelReply(text="done")])
    model = RedactingModel(inner, Redactor.of([r"hunter\d"]))
    request = ModelRequest(
        messages=[
            {"role": "user", "content": "my password is hunter2"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c", "type": "function",
                     "function": {"name": "f", "arguments": '{"p": "hunter3"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": ["hunter4 in a list"]},
        ]
    )  # fmt: skip
    assert model.complete(request).text == "done"
    (sent,) = inner.requests
    assert "hunter" not in str(sent.messages)
    assert model.name == inner.name
    assert model.traits == inner.traits
