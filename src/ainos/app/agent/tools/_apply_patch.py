"""``apply_patch``: Codex's patch format, applied whole or not at all, approved by where
it writes."""

from __future__ import annotations

from pathlib import Path

from ainos.app.agent._approval import ApprovalRequest
from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent._patch import apply_plan, plan_patch
from ainos.app.agent.tools._base import (
    ToolContext,
    ToolOutcome,
)
from ainos.errors import AinosError
from ainos.protocol.agent import (
    AgentItem,
    FileChangeItem,
    FileUpdateChange,
    ItemStatus,
)


class ApplyPatchTool:
    spec = ToolSpec(
        "apply_patch",
        "Edit files with a patch: '*** Begin Patch', then '*** Add File: p' (lines '+…'), "
        "'*** Delete File: p' or '*** Update File: p' (optional '*** Move to: q') with '@@' "
        "hunks of ' ' context, '-' removed and '+' added lines, then '*** End Patch'.",
        {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "the whole patch"}},
            "required": ["input"],
            "additionalProperties": False,
        },
    )

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return FileChangeItem(id=item_id, changes=[])

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        assert isinstance(item, FileChangeItem)
        text = str(call.arguments.get("input") or "")
        try:
            plan = plan_patch(text, context.cwd)
        except AinosError as exc:
            failed = item.model_copy(update={"status": ItemStatus.FAILED})
            return ToolOutcome(f"patch rejected, nothing changed: {exc}", failed, ok=False)
        changes = [
            FileUpdateChange(path=_relative(c.path, context.cwd), kind=c.kind) for c in plan.changes
        ]
        item = item.model_copy(update={"changes": changes})
        request = ApprovalRequest(
            "patch",
            call.call_id,
            context.cwd,
            changes=tuple(changes),
            diff=plan.unified_diff(),
            grant_root=context.cwd,
        )
        verdict = context.gate.check_patch(plan.paths(), context.sandbox.writable_paths(), request)
        if not verdict.allowed:
            context.abort = context.abort or verdict.abort
            declined = item.model_copy(update={"status": ItemStatus.DECLINED})
            return ToolOutcome(f"patch not applied: {verdict.reason}", declined, ok=False)
        try:
            applied = apply_plan(plan)
        except AinosError as exc:
            failed = item.model_copy(update={"status": ItemStatus.FAILED})
            return ToolOutcome(f"patch failed, nothing changed: {exc}", failed, ok=False)
        done = item.model_copy(update={"status": ItemStatus.COMPLETED})
        summary = "\n".join(f"{c.kind} {c.path}" for c in applied)
        return ToolOutcome(f"applied:\n{summary}", done)


def _relative(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)
