"""``update_plan``: the model's short plan, shown as a todo list."""

from __future__ import annotations

from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent.tools._base import (
    ToolContext,
    ToolOutcome,
)
from ainos.protocol.agent import (
    AgentItem,
    TodoEntry,
    TodoListItem,
)


class UpdatePlanTool:
    spec = ToolSpec(
        "update_plan",
        "Keep a short plan: the steps with status pending, in_progress or completed "
        "(at most one in_progress).",
        {
            "type": "object",
            "properties": {
                "explanation": {"type": "string"},
                "plan": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "step": {"type": "string"},
                            "status": {"enum": ["pending", "in_progress", "completed"]},
                        },
                        "required": ["step", "status"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["plan"],
            "additionalProperties": False,
        },
    )

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return TodoListItem(id=item_id, items=[])

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        steps = call.arguments.get("plan")
        if not isinstance(steps, list) or not all(
            isinstance(s, dict) and isinstance(s.get("step"), str) and s["step"].strip()
            for s in steps
        ):
            return ToolOutcome("plan must be a list of {step, status}", item, ok=False)
        statuses = [str(s.get("status")) for s in steps]
        bad = [s for s in statuses if s not in ("pending", "in_progress", "completed")]
        if bad:
            return ToolOutcome(f"unknown status {bad[0]!r}", item, ok=False)
        if statuses.count("in_progress") > 1:
            return ToolOutcome("at most one step may be in_progress", item, ok=False)
        entries = [
            TodoEntry(text=s["step"], completed=s.get("status") == "completed") for s in steps
        ]
        context.plan[:] = entries
        done = item.model_copy(update={"items": entries})
        return ToolOutcome("plan updated", done)
