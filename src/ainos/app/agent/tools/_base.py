"""What every tool is: its context, its outcome, the protocol, and the toolbox by name."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ainos.app.agent._approval import ApprovalGate
from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent.sandbox import SandboxPolicy
from ainos.errors import AinosError, InvalidArgument
from ainos.protocol.agent import (
    AgentItem,
    ItemStatus,
    McpToolCallItem,
    TodoEntry,
)

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


def resolve_path(context: ToolContext, value: object) -> Path:
    path = Path(str(value or ".")).expanduser()
    return path if path.is_absolute() else context.cwd / path


def walkable_path(context: ToolContext, value: object) -> Path:
    """A directory a tool may walk: inside the workspace. A model that asks to list or
    search ``/`` would spend minutes walking the whole machine, beyond any turn budget."""
    path = resolve_path(context, value)
    try:
        path.resolve().relative_to(context.cwd.resolve())
    except ValueError:
        raise InvalidArgument(
            f"{value} is outside the workspace {context.cwd}; walk only inside it "
            "(read single files anywhere with read_file)"
        ) from None
    return path


@dataclass(frozen=True)
class FunctionTool:
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


class ToolBox:
    """The tools of one agent, by name. ``later`` gives more tools, asked for the first time
    the tools are used (MCP servers' tools: finding them means starting the servers)."""

    def __init__(
        self, tools: Iterable[Tool], *, later: Callable[[], Iterable[Tool]] | None = None
    ) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}
        self._later = later

    def _complete(self) -> dict[str, Tool]:
        if self._later is not None:
            later, self._later = self._later, None
            for tool in later():
                self._tools.setdefault(tool.spec.name, tool)  # our own tools keep their names
        return self._tools

    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._complete().values()]

    def get(self, name: str) -> Tool | None:
        return self._complete().get(name)

    def names(self) -> list[str]:
        return list(self._complete())
