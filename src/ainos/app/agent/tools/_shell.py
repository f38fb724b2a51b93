"""``shell``: a command in the sandbox, asked for approval where the policy says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent.sandbox import CommandResult, run_command
from ainos.app.agent.tools._base import (
    ToolContext,
    ToolOutcome,
    cap_text,
    resolve_path,
)
from ainos.errors import AinosError
from ainos.protocol.agent import (
    AgentItem,
    CommandExecutionItem,
    ItemStatus,
)


class ShellTool:
    spec = ToolSpec(
        "shell",
        "Run a command (argv list, no shell unless you call bash -lc) in the sandbox; returns "
        "its exit code and output. Set escalate with a justification to ask to run it outside "
        "the sandbox.",
        {
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "workdir": {"type": "string"},
                "timeout_ms": {"type": "integer", "minimum": 100},
                "escalate": {"type": "boolean"},
                "justification": {"type": "string"},
            },
            "required": ["command"],
            "additionalProperties": False,
        },
    )

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return CommandExecutionItem(id=item_id, command=_command_text(call.arguments))

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        assert isinstance(item, CommandExecutionItem)
        args = call.arguments
        argv = [str(a) for a in args.get("command") or []]
        if not argv:
            return _declined(item, "command must be a non-empty list of strings")
        workdir = resolve_path(context, args.get("workdir"))
        timeout_s = float(args.get("timeout_ms") or context.shell_timeout_s * 1000) / 1000
        verdict = context.gate.check_exec(
            argv,
            call.call_id,
            workdir,
            escalate=bool(args.get("escalate")),
            reason=str(args.get("justification") or "") or None,
        )
        if not verdict.allowed:
            context.abort = context.abort or verdict.abort
            return _declined(item, f"not run: {verdict.reason}")
        try:
            result = self._execute(argv, workdir, context, timeout_s, sandboxed=verdict.sandboxed)
            if verdict.sandboxed and result.likely_sandbox_denial:
                retry = context.gate.retry_unsandboxed(argv, call.call_id, workdir, result.output)
                context.abort = context.abort or retry.abort
                if retry.allowed:
                    result = self._execute(argv, workdir, context, timeout_s, sandboxed=False)
        except AinosError as exc:
            failed = item.model_copy(
                update={"aggregated_output": str(exc), "status": ItemStatus.FAILED}
            )
            return ToolOutcome(f"error: {exc}", failed, ok=False)
        return _command_outcome(item, result)

    @staticmethod
    def _execute(
        argv: Sequence[str],
        workdir: Path,
        context: ToolContext,
        timeout_s: float,
        *,
        sandboxed: bool,
    ) -> CommandResult:
        policy = context.sandbox if sandboxed else context.sandbox.unrestricted()
        return run_command(
            argv,
            cwd=workdir,
            policy=policy,
            timeout_s=timeout_s,
            output_cap=context.output_cap,
            cancel=context.cancel,
        )


def _command_text(arguments: Mapping[str, Any]) -> str:
    import shlex

    command = arguments.get("command")
    if isinstance(command, list):
        return shlex.join(str(part) for part in command)
    return str(command or "")


def _command_outcome(item: CommandExecutionItem, result: CommandResult) -> ToolOutcome:
    ok = result.exit_code == 0 and not result.timed_out
    status = ItemStatus.COMPLETED if ok else ItemStatus.FAILED
    done = item.model_copy(
        update={
            "aggregated_output": result.output,
            "exit_code": result.exit_code,
            "status": status,
        }
    )
    notes = []
    if result.timed_out:
        notes.append("timed out and was killed")
    if result.cancelled:
        notes.append("cancelled")
    header = f"exit code: {result.exit_code}" + (f" ({', '.join(notes)})" if notes else "")
    return ToolOutcome(f"{header}\n{cap_text(result.output)}", done, ok=ok)


def _declined(item: CommandExecutionItem, why: str) -> ToolOutcome:
    done = item.model_copy(update={"aggregated_output": why, "status": ItemStatus.DECLINED})
    return ToolOutcome(why, done, ok=False)
