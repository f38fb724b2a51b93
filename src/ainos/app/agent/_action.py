"""``Ainos.Codex``: the agent as an AI action, so anything that consumes actions can run it.

The plan's ``runtime->InvokeAction(codexAction, context)``: a Text prompt in (and optionally
the directory to work in), the answer and a table of the tool calls it made out. Nobody can
answer approvals from inside an action, so what needs one is denied and the model is told.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import ClassVar

from ainos.ai.actions import ActionInvocationContext, ActionProvider, TextActionEntity
from ainos.errors import ActionError
from ainos.protocol.agent import (
    AgentItem,
    AgentMessageItem,
    CommandExecutionItem,
    FileChangeItem,
    ItemCompleted,
    McpToolCallItem,
    TodoListItem,
    TurnFailed,
)

__all__ = ["CODEX_ACTION_ID", "CodexActionProvider", "run_codex"]

CODEX_ACTION_ID = "Ainos.Codex"


def _row(item: AgentItem) -> tuple[str, str, str] | None:
    if isinstance(item, CommandExecutionItem):
        return ("shell", item.command, f"{item.status} (exit {item.exit_code})")
    if isinstance(item, McpToolCallItem):
        return (f"{item.server}.{item.tool}", json.dumps(item.arguments), str(item.status))
    if isinstance(item, FileChangeItem):
        changes = ", ".join(f"{c.kind} {c.path}" for c in item.changes)
        return ("apply_patch", changes, str(item.status))
    if isinstance(item, TodoListItem):
        return ("update_plan", f"{len(item.items)} steps", "completed")
    return None


def run_codex(prompt: str, cwd: Path) -> tuple[str, list[tuple[str, str, str]]]:
    """One agent turn on the configured model: (answer, tool-call rows)."""
    from ainos.app.agent._config import load_config
    from ainos.app.agent._store import ConversationStore
    from ainos.app.agent._wiring import ModelChoice, open_model, start_session

    config = load_config()
    rows: list[tuple[str, str, str]] = []
    answer = ""
    with (
        ConversationStore() as store,
        open_model(config, ModelChoice()) as model,
        start_session(model, config, cwd, store=store) as run,
    ):
        for event in run.run_turn(prompt):
            if isinstance(event, TurnFailed):
                raise ActionError(f"the agent failed: {event.error.message}")
            if isinstance(event, ItemCompleted):
                if isinstance(event.item, AgentMessageItem):
                    answer = event.item.text
                elif (row := _row(event.item)) is not None:
                    rows.append(row)
    return answer, rows


class CodexActionProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "codex_action.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        prompt = context.get_input("Prompt")
        if not isinstance(prompt, TextActionEntity) or not prompt.text.strip():
            raise ActionError(f"{context.action_id} needs a Prompt")
        workspace = context.get_input("Workspace")
        path = getattr(workspace, "full_path", None)
        cwd = Path(path) if path else Path.cwd()
        if not cwd.is_dir():
            cwd = cwd.parent
        # The agent blocks (model, commands): keep the caller's event loop free meanwhile.
        answer, rows = await asyncio.to_thread(run_codex, prompt.text, cwd)
        factory = context.entity_factory
        context.set_output_entity("Answer", factory.create_text_entity(answer))
        table = [("Tool", "Arguments", "Status"), *rows]
        context.set_output_entity("ToolCalls", factory.create_table_entity_from_rows(table))
