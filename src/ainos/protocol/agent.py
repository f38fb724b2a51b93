"""The coding agent's event stream, in the schema of ``codex exec --json``.

A turn is a sequence of events: ``thread.started`` (once per run), ``turn.started``, items
started / updated / completed as the agent works, then ``turn.completed`` with the token
usage or ``turn.failed``. Tools written for Codex's JSONL read these unchanged, and the CLI,
the conversation store and the MCP server all consume the same records.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from ainos.protocol._base import Record

__all__ = [
    "AgentEvent",
    "AgentItem",
    "AgentMessageItem",
    "CommandExecutionItem",
    "ErrorEvent",
    "ErrorItem",
    "FileChangeItem",
    "FileUpdateChange",
    "ItemCompleted",
    "ItemStarted",
    "ItemStatus",
    "ItemUpdated",
    "McpToolCallItem",
    "ReasoningItem",
    "ThreadStarted",
    "TodoEntry",
    "TodoListItem",
    "TurnCompleted",
    "TurnFailed",
    "TurnStarted",
    "Usage",
    "UserMessage",
    "event_from_dict",
]


class ItemStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    DECLINED = "declined"


class _Item(Record):
    id: str  # "item_N", numbered per run as Codex does


class AgentMessageItem(_Item):
    type: Literal["agent_message"] = "agent_message"
    text: str


class ReasoningItem(_Item):
    type: Literal["reasoning"] = "reasoning"
    text: str


class CommandExecutionItem(_Item):
    type: Literal["command_execution"] = "command_execution"
    command: str
    aggregated_output: str = ""
    exit_code: int | None = None
    status: ItemStatus = ItemStatus.IN_PROGRESS


class FileUpdateChange(Record):
    path: str
    kind: Literal["add", "delete", "update"]


class FileChangeItem(_Item):
    type: Literal["file_change"] = "file_change"
    changes: list[FileUpdateChange]
    status: ItemStatus = ItemStatus.IN_PROGRESS


class McpToolCallItem(_Item):
    """A call of any tool that is neither a command, a patch nor the plan: the agent's own
    file tools (server ``ainos``), AI actions (server ``actions``), MCP servers' tools."""

    type: Literal["mcp_tool_call"] = "mcp_tool_call"
    server: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None  # {"content": [...], "structured_content": ...}
    error: dict[str, Any] | None = None  # {"message": ...}
    status: ItemStatus = ItemStatus.IN_PROGRESS


class TodoEntry(Record):
    text: str
    completed: bool


class TodoListItem(_Item):
    type: Literal["todo_list"] = "todo_list"
    items: list[TodoEntry]


class ErrorItem(_Item):
    type: Literal["error"] = "error"
    message: str


AgentItem = Annotated[
    AgentMessageItem
    | ReasoningItem
    | CommandExecutionItem
    | FileChangeItem
    | McpToolCallItem
    | TodoListItem
    | ErrorItem,
    Field(discriminator="type"),
]


class Usage(Record):
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


class _Event(Record):
    def to_dict(self) -> dict[str, object]:
        # Codex writes absent values as null (``"exit_code": null``): keep them.
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return self.model_dump_json()


class ThreadStarted(_Event):
    type: Literal["thread.started"] = "thread.started"
    thread_id: str


class TurnStarted(_Event):
    type: Literal["turn.started"] = "turn.started"


class TurnCompleted(_Event):
    type: Literal["turn.completed"] = "turn.completed"
    usage: Usage


class _Failure(Record):
    message: str


class TurnFailed(_Event):
    type: Literal["turn.failed"] = "turn.failed"
    error: _Failure

    @classmethod
    def of(cls, message: str) -> TurnFailed:
        return cls(error=_Failure(message=message))


class ItemStarted(_Event):
    type: Literal["item.started"] = "item.started"
    item: AgentItem


class ItemUpdated(_Event):
    type: Literal["item.updated"] = "item.updated"
    item: AgentItem


class ItemCompleted(_Event):
    type: Literal["item.completed"] = "item.completed"
    item: AgentItem


class ErrorEvent(_Event):
    """A fatal error of the stream itself (Codex's top-level ``error``)."""

    type: Literal["error"] = "error"
    message: str


class UserMessage(_Event):
    """The prompt that opened a turn. ainos's own: stored in conversations, not printed by
    ``exec --json`` (Codex's stream has no such event)."""

    type: Literal["user_message"] = "user_message"
    text: str


AgentEvent = Annotated[
    ThreadStarted
    | TurnStarted
    | TurnCompleted
    | TurnFailed
    | ItemStarted
    | ItemUpdated
    | ItemCompleted
    | ErrorEvent
    | UserMessage,
    Field(discriminator="type"),
]


def event_from_dict(data: dict[str, Any]) -> AgentEvent:
    """An event read back from JSON (the conversation store, a JSONL file)."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[AgentEvent] = TypeAdapter(AgentEvent)
    return adapter.validate_python(data)
