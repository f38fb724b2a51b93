"""Every AI action as a tool: schemas made from the definitions, values made entities (paths
from the server's workspace), outputs as structured content, streaming text as progress,
a failure as an ``isError`` result naming the action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from PIL import Image
from tests.app.mcp_server.conftest import connect

from ainos.ai.actions.builtin import (
    ExtractiveSummarizer,
    default_summarizer,
    set_default_summarizer,
)

pytestmark = pytest.mark.anyio

ACTIONS = {
    "Ainos.AnalyzeCodebase",
    "Ainos.ConvertTable",
    "Ainos.CountWords",
    "Ainos.DescribePhoto",
    "Ainos.SearchFiles",
    "Ainos.SummarizeText",
}


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def _tools(client: Any) -> dict[str, types.Tool]:
    return {t.name: t for t in (await client.list_tools()).tools}


async def test_each_action_is_a_tool_with_schemas_from_its_definition(workspace: Path) -> None:
    async with connect(workspace=workspace) as client:
        tools = await _tools(client)
    assert set(tools) >= ACTIONS
    # The agent's own action is the codex tool.
    assert "Ainos.Codex" not in tools
    analyze = tools["Ainos.AnalyzeCodebase"]
    assert analyze.description is not None
    assert analyze.description.startswith("AI action: ")
    assert analyze.input_schema == {
        "type": "object",
        "properties": {"Codebase": {"type": "string", "description": "path of a file"}},
        "required": ["Codebase"],
        "additionalProperties": False,
    }
    assert analyze.output_schema is not None
    assert set(analyze.output_schema["properties"]) == {"Report", "Languages", "Summary"}
    count = tools["Ainos.CountWords"]
    assert count.input_schema["required"] == []
    assert set(count.input_schema["properties"]) == {"Text", "Document"}


async def test_an_action_runs_with_its_outputs_structured(workspace: Path) -> None:
    async with connect(workspace=workspace) as client:
        counted = await client.call_tool("Ainos.CountWords", {"Text": "one two three. Four!"})
        assert counted.is_error is not True, _text(counted)
        structured = counted.structured_content
        assert structured is not None
        assert set(structured) == {"Counts", "Summary"}
        assert structured["Summary"]["kind"] == "Text"
        assert "4 words" in structured["Summary"]["text"]
        assert "Summary: " in _text(counted)  # several outputs: each named
        converted = await client.call_tool("Ainos.ConvertTable", {"Source": "a,b\n1,2\n"})
        assert converted.is_error is not True, _text(converted)
        assert converted.structured_content is not None
        assert converted.structured_content["Converted"]["text"] == (
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
        )


async def test_paths_are_taken_from_the_workspace(workspace: Path) -> None:
    Image.new("RGB", (4, 3)).save(workspace / "photo.png")
    async with connect(workspace=workspace) as client:
        found = await client.call_tool("Ainos.SearchFiles", {"Query": "hello", "Folder": "."})
        assert found.is_error is not True, _text(found)
        assert "notes.txt" in _text(found)
        photo = await client.call_tool("Ainos.DescribePhoto", {"Photo": "photo.png"})
        assert photo.is_error is not True, _text(photo)
        assert "A 4x3 PNG image" in _text(photo)
        document = await client.call_tool("Ainos.CountWords", {"Document": "README.md"})
        assert document.is_error is not True, _text(document)
        analysis = await client.call_tool("Ainos.AnalyzeCodebase", {"Codebase": "."})
        assert analysis.is_error is not True, _text(analysis)
        assert analysis.structured_content is not None
        assert set(analysis.structured_content) == {"Report", "Languages", "Summary"}


@pytest.fixture
def extractive_summaries() -> Iterator[None]:
    """The built-in summariser for this test: a runtime another test left open may have made
    its chat model the default, whose summary says what the model pleases."""
    before = default_summarizer()
    set_default_summarizer(ExtractiveSummarizer())
    yield
    set_default_summarizer(before)


@pytest.mark.usefixtures("extractive_summaries")
async def test_streaming_text_comes_as_progress(workspace: Path) -> None:
    text = " ".join(
        f"Sentence number {i} talks about apples and the orchard where they grow."
        for i in range(12)
    )
    steps: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message)

    async with connect(workspace=workspace) as client:
        summary = await client.call_tool(
            "Ainos.SummarizeText", {"Text": text}, progress_callback=on_progress
        )
    assert summary.is_error is not True, _text(summary)
    answer = _text(summary)
    assert "apples" in answer
    assert steps, "the summary streamed no progress"
    # Each step shows the end of the text so far (at most 400 characters) as it grows.
    assert all(m is not None and m.strip() in answer for m in steps)


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("Ainos.CountWords", {"Text": 5}, "Text"),
        ("Ainos.CountWords", {"Words": "a b"}, "Words"),
        ("Ainos.AnalyzeCodebase", {}, "Codebase"),
        ("Ainos.ConvertTable", {"Cells": "not rows"}, "Cells"),
        ("Ainos.SummarizeText", {"Text": ["a"]}, "Text"),
        ("Ainos.SearchFiles", {"Folder": "."}, "Query"),
    ],
)
async def test_a_bad_argument_is_an_error_naming_it(
    workspace: Path, tool: str, arguments: dict[str, Any], named: str
) -> None:
    async with connect(workspace=workspace) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    assert _text(result).startswith(f"{tool}: invalid argument {named}")


async def test_a_failing_action_or_value_is_an_error_naming_it(workspace: Path) -> None:
    (workspace / "fake.jpg").write_text("not an image")
    async with connect(workspace=workspace) as client:
        missing = await client.call_tool("Ainos.AnalyzeCodebase", {"Codebase": "no/such/dir"})
        failed = await client.call_tool("Ainos.DescribePhoto", {"Photo": "fake.jpg"})
        # No input combination fits an empty call.
        empty = await client.call_tool("Ainos.CountWords", {})
    assert missing.is_error is True
    assert _text(missing) == "Codebase: no such file or directory: no/such/dir"
    assert failed.is_error is True
    assert _text(failed).startswith("Ainos.DescribePhoto: ")
    assert "not an image" in _text(failed)
    assert empty.is_error is True
    assert _text(empty) == ("Ainos.CountWords takes (Text: Text) or (Document: Document); got ()")
