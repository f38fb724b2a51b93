"""The ``supervisor`` tool: ``ainos supervisor`` for MCP clients — one goal fanned out to
sub-agents, their steps sent as progress, the merged report as the result (Markdown text
with the report's JSON as structured content, or JSON text with ``format: json``)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types

from ainos.app.mcp_server._loop import LoopHandle
from ainos.app.mcp_server._state import ServerState
from ainos.app.mcp_server._tools import ToolCall, ToolEntry, ToolFailure, json_result

if TYPE_CHECKING:
    from ainos.protocol.agent import AgentEvent

__all__ = ["supervisor_tool"]

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "goal": {"type": "string", "minLength": 1, "description": "The request."},
        "agents": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "maxItems": 8,
            "description": "Sub-agents to run (names or aliases); default: planned from the goal.",
        },
        "strategy": {"type": "string", "enum": ["sequential", "parallel", "hybrid"]},
        "merge_strategy": {"type": "string", "enum": ["concatenate", "voting", "highest_score"]},
        "format": {"type": "string", "enum": ["markdown", "json"]},
        "max_parallel": {"type": "integer", "minimum": 1, "maximum": 8},
        "cwd": {"type": "string", "description": "The working directory (default: the server's)."},
    },
    "required": ["goal"],
    "additionalProperties": False,
}


def _describe(agent: str, event: AgentEvent) -> str | None:
    from ainos.protocol.agent import (
        ItemCompleted,
        ItemStarted,
        McpToolCallItem,
        TurnCompleted,
        TurnFailed,
    )

    if isinstance(event, ItemStarted) and isinstance(event.item, McpToolCallItem):
        return f"[{agent}] {event.item.tool}"
    if isinstance(event, ItemCompleted) and isinstance(event.item, McpToolCallItem):
        return f"[{agent}] {event.item.tool}: {event.item.status.value}"
    if isinstance(event, TurnCompleted):
        return f"[{agent}] done"
    if isinstance(event, TurnFailed):
        return f"[{agent}] failed: {event.error.message}"
    return None


def supervisor_tool(state: ServerState, root: Path) -> ToolEntry:
    async def supervisor(call: ToolCall) -> types.CallToolResult:
        from ainos.app.agent import load_config
        from ainos.app.supervisor import (
            SupervisorOptions,
            SupervisorRun,
            render_json,
            render_markdown,
            run_supervisor,
        )

        args = call.arguments
        cwd = (root / args["cwd"]).resolve() if args.get("cwd") else root
        if not cwd.is_dir():
            raise ToolFailure(f"cwd: {cwd} is not a directory")
        options = SupervisorOptions(
            cwd=cwd,
            agents=tuple(args.get("agents") or ()),
            strategy=args.get("strategy", "parallel"),
            merge=args.get("merge_strategy", "concatenate"),
            max_parallel=args.get("max_parallel"),
            realtime=state.options.realtime,
            on_device=state.options.on_device,
            socket_path=state.options.socket_path,
        )
        loop = LoopHandle()
        steps = itertools.count(1)
        lock = threading.Lock()

        def on_event(agent: str, event: AgentEvent, at: float) -> None:
            message = _describe(agent, event)
            if message is None:
                return
            with lock:
                step = next(steps)
            # Fire and forget: a sub-agent never waits on the connection.
            loop.soon(_progress, call, step, message)

        watch = SupervisorRun(on_event=on_event)
        try:
            report = await anyio.to_thread.run_sync(
                lambda: run_supervisor(
                    args["goal"],
                    options,
                    load_config(),
                    store=state.conversations.store,
                    watch=watch,
                ),
                abandon_on_cancel=True,
            )
        except anyio.get_cancelled_exc_class():
            watch.cancel.set()  # the sub-agents stop at their next step
            raise
        document = report.to_dict()
        if args.get("format") == "json":
            return json_result(document, text=render_json(report))
        return json_result(document, text=render_markdown(report))

    return ToolEntry(
        types.Tool(
            name="supervisor",
            title="Multi-agent supervisor",
            description=(
                "Fan a goal out to sub-agents (code-reviewer, security-auditor, test-writer, "
                "researcher, or your own definitions) that run side by side, each running "
                "deterministic checks before its model explains them; returns the merged "
                "report."
            ),
            input_schema=_SCHEMA,
            output_schema={"type": "object"},
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=False, open_world_hint=False
            ),
        ),
        supervisor,
    )


# Progress sends in flight: the loop keeps only weak references to its tasks.
_SENDING: set[asyncio.Task[None]] = set()


def _progress(call: ToolCall, step: int, message: str) -> None:
    async def send() -> None:
        try:
            await call.peer.progress(step, None, message)
        except Exception:  # the caller went away; the run finishes anyway
            return

    task = asyncio.ensure_future(send())
    _SENDING.add(task)
    task.add_done_callback(_SENDING.discard)
