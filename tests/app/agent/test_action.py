"""``Ainos.Codex``: the agent invoked as an AI action, on the real embedded model."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from ainos.ai.actions import (
    ActionInvocationResult,
    ActionRuntime,
    TableActionEntity,
    TextActionEntity,
)

pytestmark = pytest.mark.slow


def test_codex_action_answers_with_the_tool_calls_it_made(tmp_path: Path) -> None:
    workspace = tmp_path / "tiny"
    workspace.mkdir()
    (workspace / "main.py").write_text("# TODO: greet\nprint('hello')\n")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    runtime = ActionRuntime(client_name="test")
    factory = runtime.entity_factory
    context = asyncio.run(
        runtime.invoke_action(
            "Ainos.Codex",
            {
                "Prompt": factory.create_text_entity("Analyze this codebase"),
                "Workspace": factory.create_file_entity(workspace),
            },
        )
    )
    assert context.result is ActionInvocationResult.SUCCESS, context.extended_error
    answer = context.get_output("Answer")
    assert isinstance(answer, TextActionEntity)
    assert "Largest file: main.py (2 lines)" in answer.text
    assert "TODO markers: 1 (TODO 1)" in answer.text
    table = context.get_output("ToolCalls")
    assert isinstance(table, TableActionEntity)
    rows = table.rows()
    assert rows[0] == ("Tool", "Arguments", "Status")
    assert ("actions.action_Ainos_AnalyzeCodebase", '{"Codebase": "."}', "completed") in rows
