"""The agent's events as Codex ``EventMsg`` payloads: what ``codex/event`` notifications
carry, so a client written for ``codex mcp-server`` reads them unchanged.

Pure data mapping, no I/O. An agent event may become several messages (an item that
completes a command is ``exec_command_end``), or none (Codex has no message for it).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ainos.protocol.agent import (
    AgentEvent,
    AgentMessageItem,
    CommandExecutionItem,
    ErrorEvent,
    ErrorItem,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    McpToolCallItem,
    ReasoningItem,
    TodoListItem,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
)

__all__ = ["parsed_command", "session_configured", "to_event_msgs"]


def parsed_command(command: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """Codex's ``parsed_cmd``: what a command does, as far as its first word says."""
    argv = list(command)
    if len(argv) >= 3 and Path(argv[0]).name in ("bash", "sh", "zsh") and argv[1] in ("-c", "-lc"):
        argv = shlex.split(argv[2]) if argv[2].strip() else []
    text = shlex.join(argv)
    if not argv:
        return [{"type": "unknown", "cmd": text}]
    name = Path(argv[0]).name
    operands = [a for a in argv[1:] if not a.startswith("-")]
    if name in ("cat", "head", "tail", "less", "sed", "nl") and operands:
        return [{"type": "read", "cmd": text, "name": Path(operands[-1]).name}]
    if name in ("ls", "tree"):
        return [{"type": "list_files", "cmd": text, "path": operands[0] if operands else None}]
    if name in ("rg", "grep", "ag", "find"):
        return [
            {
                "type": "search",
                "cmd": text,
                "query": operands[0] if operands else None,
                "path": operands[1] if len(operands) > 1 else None,
            }
        ]
    return [{"type": "unknown", "cmd": text}]


def session_configured(thread_id: str, model: str, history_entries: int) -> dict[str, Any]:
    return {
        "type": "session_configured",
        "session_id": thread_id,
        "model": model,
        "history_log_id": 0,
        "history_entry_count": history_entries,
    }


def _command(item: CommandExecutionItem) -> list[str]:
    try:
        return shlex.split(item.command)
    except ValueError:
        return [item.command]


def _item_started(item: Any, cwd: str) -> list[dict[str, Any]]:
    if isinstance(item, CommandExecutionItem):
        argv = _command(item)
        return [
            {
                "type": "exec_command_begin",
                "call_id": item.id,
                "command": argv,
                "cwd": cwd,
                "parsed_cmd": parsed_command(argv),
            }
        ]
    if isinstance(item, FileChangeItem):
        return [
            {
                "type": "patch_apply_begin",
                "call_id": item.id,
                "auto_approved": True,
                "changes": {c.path: {"type": c.kind} for c in item.changes},
            }
        ]
    if isinstance(item, McpToolCallItem):
        return [
            {
                "type": "mcp_tool_call_begin",
                "call_id": item.id,
                "invocation": {
                    "server": item.server,
                    "tool": item.tool,
                    "arguments": item.arguments,
                },
            }
        ]
    return []


def _item_completed(item: Any) -> list[dict[str, Any]]:
    if isinstance(item, AgentMessageItem):
        return [{"type": "agent_message", "message": item.text}]
    if isinstance(item, ReasoningItem):
        return [{"type": "agent_reasoning", "text": item.text}]
    if isinstance(item, CommandExecutionItem):
        return [
            {
                "type": "exec_command_end",
                "call_id": item.id,
                "stdout": item.aggregated_output,
                "stderr": "",
                "aggregated_output": item.aggregated_output,
                "exit_code": item.exit_code if item.exit_code is not None else -1,
                "formatted_output": item.aggregated_output,
            }
        ]
    if isinstance(item, FileChangeItem):
        return [
            {
                "type": "patch_apply_end",
                "call_id": item.id,
                "stdout": "",
                "stderr": "" if item.status == "completed" else "the patch was not applied",
                "success": item.status == "completed",
            }
        ]
    if isinstance(item, McpToolCallItem):
        result: dict[str, Any] = (
            {"Ok": item.result} if item.error is None else {"Err": item.error.get("message", "")}
        )
        return [
            {
                "type": "mcp_tool_call_end",
                "call_id": item.id,
                "invocation": {
                    "server": item.server,
                    "tool": item.tool,
                    "arguments": item.arguments,
                },
                "result": result,
            }
        ]
    if isinstance(item, TodoListItem):
        return [
            {
                "type": "plan_update",
                "explanation": None,
                "plan": [
                    {"step": e.text, "status": "completed" if e.completed else "pending"}
                    for e in item.items
                ],
            }
        ]
    if isinstance(item, ErrorItem):
        return [{"type": "warning", "message": item.message}]
    return []


def to_event_msgs(event: AgentEvent, cwd: str, last_message: str | None) -> list[dict[str, Any]]:
    """The Codex messages for one agent event; ``last_message`` is the turn's latest answer
    (for ``task_complete``)."""
    if isinstance(event, TurnStarted):
        return [{"type": "task_started", "model_context_window": None}]
    if isinstance(event, ItemStarted):
        return _item_started(event.item, cwd)
    if isinstance(event, ItemCompleted):
        return _item_completed(event.item)
    if isinstance(event, TurnCompleted):
        usage = event.usage
        return [
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": {
                        "input_tokens": usage.input_tokens,
                        "cached_input_tokens": usage.cached_input_tokens,
                        "output_tokens": usage.output_tokens,
                        "total_tokens": usage.input_tokens + usage.output_tokens,
                    }
                },
            },
            {"type": "task_complete", "last_agent_message": last_message},
        ]
    if isinstance(event, TurnFailed):
        if event.error.message == "interrupted":
            return [{"type": "turn_aborted", "reason": "interrupted"}]
        return [{"type": "error", "message": event.error.message}]
    if isinstance(event, ErrorEvent):
        return [{"type": "stream_error", "message": event.message}]
    return []
