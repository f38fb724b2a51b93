"""The ``supervisor`` tool: the goal fanned out to sub-agents (their model the fake provider),
each step sent as progress, the merged report as text and structured content; a bad
argument or an unknown agent is a tool error, not a failed request."""

from __future__ import annotations

import json
from pathlib import Path

import mcp_types as types
import pytest
from tests.app.mcp_server.conftest import FakeAgent, connect
from tests.app.mcp_server.fake_provider import Reply
from tests.app.supervisor.conftest import AWS_KEY, planted_repo

pytestmark = pytest.mark.anyio


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_the_tool_is_listed_with_its_schema(workspace: Path) -> None:
    async with connect(workspace=workspace) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["supervisor"].input_schema
    assert schema["required"] == ["goal"]
    assert set(schema["properties"]) >= {"goal", "agents", "strategy", "merge_strategy", "format"}


async def test_a_run_reports_progress_and_the_merged_report(
    tmp_path: Path, fake_agent: FakeAgent
) -> None:
    provider = fake_agent([], sandbox_mode="read-only")
    provider.default = Reply("The key matters most.")
    repo = planted_repo(tmp_path / "repo")
    steps: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message)

    async with connect(workspace=repo) as client:
        result = await client.call_tool(
            "supervisor",
            {"goal": "Comprehensive code review", "agents": ["code-reviewer", "sec-audit"]},
            progress_callback=on_progress,
        )
        as_json = await client.call_tool(
            "supervisor", {"goal": "audit", "agents": ["sec-audit"], "format": "json"}
        )
    assert result.is_error is not True, _text(result)
    text = _text(result)
    assert text.startswith("# Supervisor report: Comprehensive code review")
    assert "`src/app.py:4`" in text
    assert "`src/app.py:9`" in text
    assert AWS_KEY not in text
    report = result.structured_content
    assert report is not None
    assert [a["agent"] for a in report["agents"]] == ["code-reviewer", "security-auditor"]
    assert "[security-auditor] done" in steps
    assert "[code-reviewer] done" in steps
    assert json.loads(_text(as_json))["agents"][0]["agent"] == "security-auditor"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"goal": "x", "agents": ["nobody"]}, "no agent named 'nobody'"),
        ({"goal": "x", "strategy": "fast"}, "strategy"),
        ({"agents": ["sec-audit"]}, "goal"),
    ],
)
async def test_mistakes_are_tool_errors(
    workspace: Path, arguments: dict[str, object], message: str
) -> None:
    async with connect(workspace=workspace) as client:
        result = await client.call_tool("supervisor", arguments)
    assert result.is_error is True
    assert message in _text(result)
