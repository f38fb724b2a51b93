"""Streams that go silent while a tool call is held until whole keep their client waiting:
SSE comments in chat completions, repeated ``response.in_progress`` in the Responses API —
served for real, with the embedded chat model."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from tests.api_server import serving_runtime
from tests.llm_fixtures import TEST_CONTEXT

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import LlmLimits
from ainos.app.api import ApiConfig
from ainos.app.runtime import RuntimeConfig
from ainos.kernel.control import ServicesConfig

_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
SHELL = {
    "type": "function",
    "function": {
        "name": "shell",
        "description": "Run a shell command",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    },
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        llm_limits=LlmLimits(parallel=1, reserved=0, context_tokens=TEST_CONTEXT),
        # Any pause between two pieces of output is a silence worth a tick here.
        api=ApiConfig(default_chat_model=DEFAULT_CHAT_MODEL, stream_keepalive_s=0.001),
    )
    home: Path = tmp_path_factory.mktemp("keepalive-home")
    with serving_runtime(home, config) as server:
        yield server.url


def _stream(url: str, path: str, body: dict[str, Any]) -> list[str]:
    """The stream's lines, read to its end."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200, response.read()
        # Split as SSE does, at CR and LF only (a str's splitlines also cuts at U+2028).
        return [line.decode() for line in response.read().splitlines()]
    finally:
        connection.close()


def test_a_held_tool_call_is_kept_alive_with_comments(url: str) -> None:
    lines = _stream(
        url,
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "List the files here."}],
            "tools": [SHELL],
            "tool_choice": "required",
            "max_tokens": 48,
            "temperature": 0,
            "stream": True,
        },
    )
    assert ": keep-alive" in lines
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    calls = [
        call
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or ()
    ]
    assert calls
    assert calls[0]["function"]["name"] == "shell"


def test_a_held_tool_call_repeats_response_in_progress(url: str) -> None:
    lines = _stream(
        url,
        "/v1/responses",
        {
            "input": "List the files here.",
            "tools": [{"type": "function", **SHELL["function"]}],
            "tool_choice": "required",
            "max_output_tokens": 48,
            "temperature": 0,
            "stream": True,
        },
    )
    events = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data:")]
    for event in events:
        _EVENT.validate_python(event)
    kinds = [e["type"] for e in events]
    assert kinds.count("response.in_progress") >= 2
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert kinds[-1] in ("response.completed", "response.incomplete")
    assert any(
        e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"
        for e in events
    )
