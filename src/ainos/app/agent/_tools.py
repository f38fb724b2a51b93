"""The agent's tools: what a model may call, how each call shows as an event item, and what
the model reads back.

Every tool turns one :class:`ToolCall` into an item (started, then completed) and a text
result. Failures a model can act on (a missing file, a failing hunk, a denied command) are
results, not exceptions: the model reads them and tries something else.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ainos.app.agent import _files
from ainos.app.agent._approval import ApprovalGate, ApprovalRequest
from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent._patch import apply_plan, plan_patch
from ainos.app.agent.sandbox import CommandResult, SandboxPolicy, run_command
from ainos.errors import AinosError, InvalidArgument
from ainos.protocol.agent import (
    AgentItem,
    CommandExecutionItem,
    FileChangeItem,
    FileUpdateChange,
    ItemStatus,
    McpToolCallItem,
    TodoEntry,
    TodoListItem,
)

__all__ = [
    "ToolBox",
    "ToolContext",
    "ToolOutcome",
    "action_tools",
    "builtin_tools",
    "cap_text",
]

_PATH_KINDS = frozenset({"File", "Document", "Photo"})
_MODEL_OUTPUT_CAP = 12_000  # characters of a result a model reads: more only fills its window


@dataclass
class ToolContext:
    cwd: Path
    sandbox: SandboxPolicy
    gate: ApprovalGate
    cancel: threading.Event = field(default_factory=threading.Event)
    shell_timeout_s: float = 60.0
    output_cap: int = 64 * 1024
    plan: list[TodoEntry] = field(default_factory=list)
    abort: bool = False  # set when a person chose to end the turn at an approval


@dataclass(frozen=True)
class ToolOutcome:
    output: str  # what the model reads
    item: AgentItem  # the completed item
    ok: bool = True


class Tool(Protocol):
    @property
    def spec(self) -> ToolSpec: ...

    def start(self, call: ToolCall, item_id: str) -> AgentItem: ...

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome: ...


def cap_text(text: str, limit: int = _MODEL_OUTPUT_CAP) -> str:
    """``text`` cut to ``limit`` characters, keeping its head and its tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters omitted …]\n{text[-half:]}"


def _resolve(context: ToolContext, value: object) -> Path:
    path = Path(str(value or ".")).expanduser()
    return path if path.is_absolute() else context.cwd / path


def _walkable(context: ToolContext, value: object) -> Path:
    """A directory a tool may walk: inside the workspace. A model that asks to list or
    search ``/`` would spend minutes walking the whole machine, beyond any turn budget."""
    path = _resolve(context, value)
    try:
        path.resolve().relative_to(context.cwd.resolve())
    except ValueError:
        raise InvalidArgument(
            f"{value} is outside the workspace {context.cwd}; walk only inside it "
            "(read single files anywhere with read_file)"
        ) from None
    return path


# -- shell ----------------------------------------------------------------------------


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
        workdir = _resolve(context, args.get("workdir"))
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


# -- apply_patch ----------------------------------------------------------------------


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


# -- update_plan ----------------------------------------------------------------------


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


# -- read_file, list_dir, grep ----------------------------------------------------------


@dataclass(frozen=True)
class _FunctionTool:
    """A tool backed by a plain function of the cwd and the arguments; shown as a call of
    server ``ainos``."""

    spec: ToolSpec
    function: Callable[[ToolContext, Mapping[str, Any]], str | tuple[str, dict[str, Any]]]
    server: str = "ainos"

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return McpToolCallItem(
            id=item_id, server=self.server, tool=call.name, arguments=dict(call.arguments)
        )

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        assert isinstance(item, McpToolCallItem)
        try:
            returned = self.function(context, call.arguments)
        except AinosError as exc:
            failed = item.model_copy(
                update={"error": {"message": str(exc)}, "status": ItemStatus.FAILED}
            )
            return ToolOutcome(f"error: {exc}", failed, ok=False)
        text, structured = returned if isinstance(returned, tuple) else (returned, None)
        result = {"content": [{"type": "text", "text": text}], "structured_content": structured}
        done = item.model_copy(update={"result": result, "status": ItemStatus.COMPLETED})
        return ToolOutcome(cap_text(text), done)


def _read_file(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.read_file(
        _resolve(context, args.get("path")),
        offset=int(args.get("offset") or 1),
        limit=int(args.get("limit") or 200),
    )
    return str(found.text)


def _list_dir(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.list_dir(_walkable(context, args.get("path")), depth=int(args.get("depth") or 2))
    return str(found.text)


def _grep(context: ToolContext, args: Mapping[str, Any]) -> str:
    found = _files.grep(
        str(args.get("pattern") or ""),
        _walkable(context, args.get("path")),
        glob=str(args["glob"]) if args.get("glob") else None,
        ignore_case=bool(args.get("ignore_case")),
    )
    return str(found.text)


_PATH = {"type": "string", "description": "relative to the working directory"}

READ_FILE = _FunctionTool(
    ToolSpec(
        "read_file",
        "Read lines of a text file (1-based offset, at most limit lines).",
        {
            "type": "object",
            "properties": {
                "path": _PATH,
                "offset": {"type": "integer", "minimum": 1},
                "limit": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
            "additionalProperties": False,
        },
    ),
    _read_file,
)
LIST_DIR = _FunctionTool(
    ToolSpec(
        "list_dir",
        "List a directory as a tree, a few levels deep.",
        {
            "type": "object",
            "properties": {"path": _PATH, "depth": {"type": "integer", "minimum": 1}},
            "required": ["path"],
            "additionalProperties": False,
        },
    ),
    _list_dir,
)
GREP = _FunctionTool(
    ToolSpec(
        "grep",
        "Search files for a regular expression; returns path:line: text matches.",
        {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "path": _PATH,
                "glob": {"type": "string", "description": "only files matching, e.g. *.py"},
                "ignore_case": {"type": "boolean"},
            },
            "required": ["pattern"],
            "additionalProperties": False,
        },
    ),
    _grep,
)


def builtin_tools() -> list[Tool]:
    return [ShellTool(), READ_FILE, LIST_DIR, GREP, ApplyPatchTool(), UpdatePlanTool()]


# -- AI actions -----------------------------------------------------------------------


def _tool_name(action_id: str) -> str:
    """A tool name from an action id: OpenAI allows [a-zA-Z0-9_-] only."""
    return "action_" + "".join(c if c.isalnum() else "_" for c in action_id)


def action_tools(runtime: Any, excluded: frozenset[str] = frozenset({"Ainos.Codex"})) -> list[Tool]:
    """Every available action of ``runtime`` (an ``ActionRuntime``) as a tool, its schema
    made from the kinds of its inputs."""
    from ainos.ai.actions import value_schema

    tools: list[Tool] = []
    for definition in runtime.action_catalog.get_all_actions():
        # The agent's own action would run an agent inside the agent.
        if definition.id in excluded or not runtime.get_action_availability(definition.id):
            continue
        properties = {info.name: value_schema(info) for info in definition.get_inputs()}
        required = [info.name for info in definition.get_inputs() if info.required]
        spec = ToolSpec(
            _tool_name(definition.id),
            f"AI action {definition.id}: {definition.description}",
            {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        )
        tools.append(_FunctionTool(spec, _ActionCall(runtime, definition.id), server="actions"))
    return tools


@dataclass(frozen=True)
class _ActionCall:
    runtime: Any
    action_id: str

    def __call__(self, context: ToolContext, args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        from ainos.ai.actions import ActionInvocationResult, entity_from_value

        definition = self.runtime.action_catalog.get(self.action_id)
        factory = self.runtime.entity_factory
        inputs = {}
        for name, value in args.items():
            info = definition.input(name)
            if info is None:
                continue
            if isinstance(value, str) and info.kind.wire_name in _PATH_KINDS:
                _walkable(context, value)
            inputs[name] = entity_from_value(
                factory,
                info.kind,
                value,
                name=name,
                base=context.cwd,
                element_kind=info.element_kind,
            )
        invocation = asyncio.run(self.runtime.invoke_action(self.action_id, inputs))
        if invocation.result is not ActionInvocationResult.SUCCESS:
            from ainos.errors import ActionError

            raise ActionError(invocation.extended_error or f"{self.action_id} failed")
        outputs = invocation.get_output_entities()
        structured = {o.name: o.entity.to_dict() for o in outputs}
        return render_outputs(outputs), structured


def render_outputs(named: Iterable[Any]) -> str:
    """An invocation's outputs as text a model reads: text as is, tables as Markdown."""
    parts = []
    for output in named:
        entity = output.entity
        rows = getattr(entity, "rows", None)
        if callable(rows):
            table = rows()
            lines = ["| " + " | ".join(row) + " |" for row in table]
            if len(lines) > 1:
                lines.insert(1, "|" + "---|" * len(table[0]))
            parts.append(f"{output.name}:\n" + "\n".join(lines))
        elif hasattr(entity, "text"):
            parts.append(f"{output.name}:\n{entity.text}")
        elif hasattr(entity, "get_text"):
            parts.append(f"{output.name}:\n{entity.get_text()}")
        else:
            parts.append(f"{output.name}: {json.dumps(entity.to_dict())}")
    return "\n\n".join(parts)


class ToolBox:
    """The tools of one agent, by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}

    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)
