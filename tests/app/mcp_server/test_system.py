"""Models and the machine as tools: ``embed`` (the real embedding model), ``generate``
(only refused arguments: a valid call would load the chat model), the statistics."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from tests.app.mcp_server.conftest import connect

pytestmark = pytest.mark.anyio


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_the_statistics_tools_read_the_machine() -> None:
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("ainos_stats", "ainos_processes", "ainos_scheduler", "embed"):
            annotations = tools[name].annotations
            assert annotations is not None
            assert annotations.read_only_hint is True
        stats = await client.call_tool("ainos_stats", {})
        processes = await client.call_tool("ainos_processes", {})
        scheduler = await client.call_tool("ainos_scheduler", {})
    for result in (stats, processes, scheduler):
        assert result.is_error is not True, _text(result)
        assert isinstance(result.structured_content, dict)
    assert stats.structured_content is not None
    assert {"devices", "memory_pool", "scheduler"} <= set(stats.structured_content)
    assert stats.structured_content["devices"]["cpu"]["memory_total_bytes"] > 0
    assert processes.structured_content is not None
    assert isinstance(processes.structured_content["processes"], list)
    assert scheduler.structured_content is not None
    assert "classes" in scheduler.structured_content["stats"]


@pytest.mark.slow
async def test_embed_uses_the_embedding_model(seeded_home: Path) -> None:
    async with connect() as client:
        result = await client.call_tool("embed", {"texts": ["a cat", "a kitten", "a tax form"]})
    assert result.is_error is not True, _text(result)
    structured = result.structured_content
    assert structured is not None
    assert structured["where"] == "in-process"
    assert structured["dimensions"] == 384
    vectors = structured["embeddings"]
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert _text(result) == f"3 embeddings of 384 dimensions from {structured['model']}"

    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return float(dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("embed", {}, "texts"),
        ("embed", {"texts": []}, "texts"),
        ("embed", {"texts": ["ok", ""]}, "texts.1"),
        ("embed", {"texts": ["x"] * 257}, "texts"),
        ("embed", {"texts": "one text"}, "texts"),
        ("embed", {"texts": ["x"], "model": 3}, "model"),
        ("generate", {}, "prompt"),
        ("generate", {"prompt": ""}, "prompt"),
        ("generate", {"prompt": "hi", "max_tokens": 0}, "max_tokens"),
        ("generate", {"prompt": "hi", "max_tokens": 1.5}, "max_tokens"),
        ("generate", {"prompt": "hi", "temperature": 3}, "temperature"),
        ("generate", {"prompt": "hi", "stream": True}, "stream"),
        ("ainos_stats", {"verbose": True}, "verbose"),
        ("ainos_processes", {"pid": 1}, "pid"),
        ("ainos_scheduler", {"class": "batch"}, "class"),
    ],
)
async def test_a_bad_argument_is_an_error_naming_it(
    tool: str, arguments: dict[str, Any], named: str
) -> None:
    """Refused before anything runs: no model loads."""
    async with connect() as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    assert _text(result).startswith(f"{tool}: invalid argument {named}: ")


@pytest.mark.slow
async def test_generate_streams_its_text_as_progress() -> None:
    """The embedded chat model in this process: the reply's text grows in the progress
    messages, and the result carries it with its finish reason and usage."""
    seen: list[str] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    async with connect() as client:
        result = await client.call_tool(
            "generate",
            {"prompt": "Name a colour.", "max_tokens": 12, "temperature": 0},
            progress_callback=progress,
        )
    assert result.is_error is not True, _text(result)
    reply = result.structured_content
    assert reply is not None
    assert reply["where"] == "in-process"
    assert reply["text"].strip()
    assert _text(result) == reply["text"]
    assert reply["finish_reason"] in ("stop", "length")
    assert 0 < reply["usage"]["completion_tokens"] <= 12
    assert seen
    assert seen[-1] == reply["text"][-400:]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))


@pytest.mark.slow
def test_generate_through_the_daemon_reads_its_stream(llm_http_url: str) -> None:
    """DaemonBackend against a served runtime's OpenAI-compatible API (the daemon's)."""
    from ainos.ai.ml import DEFAULT_CHAT_MODEL
    from ainos.app.mcp_server._backend import DaemonBackend

    texts: list[str] = []
    reply = DaemonBackend(None, llm_http_url).generate(
        DEFAULT_CHAT_MODEL,
        [{"role": "user", "content": "Name a colour."}],
        {"max_tokens": 12, "temperature": 0},
        texts.append,
    )
    assert reply.text.strip()
    assert texts[-1] == reply.text
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert 0 < reply.usage["completion_tokens"] <= 12
