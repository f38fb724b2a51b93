"""The tools of the machine's registered MCP servers, as ``mcp__<server>__<tool>``.

The servers are started when the agent first needs its tools (one client session each, on
the registry's background event loop, kept for the session: ``McpConnections``), all at
once. A server that cannot start still offers the tools last seen of it (``ainos mcp
tools``) or its manifest declares, each failing with the server's error when called: the
model reads why, the turn goes on. Every call goes through the registry's message filter
and audit, and through the approval gate (``check_mcp``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ainos.app.agent._approval import ApprovalRequest
from ainos.app.agent._model import ToolCall, ToolSpec
from ainos.app.agent.tools._base import Tool, ToolContext, ToolOutcome, cap_text
from ainos.errors import AinosError
from ainos.protocol.agent import AgentItem, ItemStatus, McpToolCallItem

if TYPE_CHECKING:
    from ainos.ai.mcp_registry import McpConnections, McpRegistry, ServerEntry

__all__ = ["McpTool", "mcp_tool_name", "mcp_tools"]

_NAME_LIMIT = 64  # OpenAI's limit on a function's name
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")
_ANY_OBJECT: Mapping[str, Any] = {"type": "object", "properties": {}}


def mcp_tool_name(server: str, tool: str) -> str:
    """``mcp__<server>__<tool>``, made of the characters a function name allows; too long a
    name keeps its head and a hash of the whole."""
    name = f"mcp__{server}__{_NOT_NAME.sub('_', tool)}"
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha1(f"{server}/{tool}".encode()).hexdigest()[:8]
    return f"{name[: _NAME_LIMIT - 9]}_{digest}"


@dataclass(frozen=True)
class _Offered:
    name: str
    description: str
    schema: Mapping[str, Any]
    read_only: bool


@dataclass(frozen=True)
class McpTool:
    """One tool of one server. ``unavailable``: why the server cannot be used (it did not
    start), said by every call."""

    spec: ToolSpec
    server: str
    tool: str
    read_only: bool
    contained: bool
    connections: McpConnections
    unavailable: str | None = None

    def start(self, call: ToolCall, item_id: str) -> AgentItem:
        return McpToolCallItem(
            id=item_id, server=self.server, tool=self.tool, arguments=dict(call.arguments)
        )

    def run(self, call: ToolCall, item: AgentItem, context: ToolContext) -> ToolOutcome:
        assert isinstance(item, McpToolCallItem)
        request = ApprovalRequest(
            "mcp",
            call.call_id,
            context.cwd,
            server=self.server,
            tool=self.tool,
            arguments=dict(call.arguments),
        )
        verdict = context.gate.check_mcp(
            request, read_only=self.read_only, contained=self.contained
        )
        if not verdict.allowed:
            context.abort = context.abort or verdict.abort
            why = f"not run: {verdict.reason}"
            declined = item.model_copy(
                update={"error": {"message": why}, "status": ItemStatus.DECLINED}
            )
            return ToolOutcome(why, declined, ok=False)
        if self.unavailable is not None:
            return _failed(item, self.unavailable)
        try:
            result = self.connections.call(self.server, self.tool, call.arguments)
        except AinosError as exc:
            return _failed(item, str(exc))
        wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        text = _render(wire.get("content") or [], result.structured_content)
        payload = {
            "content": wire.get("content") or [],
            "structured_content": result.structured_content,
        }
        if result.is_error:
            failed = item.model_copy(
                update={
                    "result": payload,
                    "error": {"message": text},
                    "status": ItemStatus.FAILED,
                }
            )
            return ToolOutcome(f"error: {cap_text(text)}", failed, ok=False)
        done = item.model_copy(update={"result": payload, "status": ItemStatus.COMPLETED})
        return ToolOutcome(cap_text(text), done)


def _failed(item: McpToolCallItem, message: str) -> ToolOutcome:
    failed = item.model_copy(update={"error": {"message": message}, "status": ItemStatus.FAILED})
    return ToolOutcome(f"error: {message}", failed, ok=False)


def _render(content: list[Any], structured: object) -> str:
    """What a model reads of a result: its text, placeholders for media, else its
    structured content as JSON."""
    parts: list[str] = []
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "resource":
            resource = block.get("resource") or {}
            parts.append(str(resource.get("text") or f"[resource {resource.get('uri', '')}]"))
        elif kind == "resource_link":
            parts.append(f"[resource {block.get('uri', '')}]")
        else:
            parts.append(f"[{kind}: {block.get('mimeType', 'unknown type')}]")
    if not parts and structured is not None:
        return json.dumps(structured, ensure_ascii=False)
    return "\n".join(parts)


def _live(connections: McpConnections, server: str) -> list[_Offered]:
    return [
        _Offered(
            tool.name,
            tool.description or "",
            tool.input_schema,
            bool(tool.annotations and tool.annotations.read_only_hint),
        )
        for tool in connections.tools(server)
    ]


def _remembered(entry: ServerEntry, registry: McpRegistry | None) -> list[_Offered]:
    """The tools of a server that is not running: its last listing, else its manifest's."""
    listing = registry.listing(entry.id) if registry is not None else None
    if listing is not None:
        return [
            _Offered(
                str(tool["name"]),
                str(tool.get("description") or ""),
                tool.get("inputSchema") or _ANY_OBJECT,
                bool((tool.get("annotations") or {}).get("readOnlyHint")),
            )
            for tool in listing
        ]
    return [_Offered(t.name, t.description, _ANY_OBJECT, False) for t in entry.tools]


def _schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    return schema if isinstance(schema, Mapping) and schema.get("type") == "object" else _ANY_OBJECT


def mcp_tools(connections: McpConnections, registry: McpRegistry | None = None) -> list[Tool]:
    """Every tool clients may use of ``connections``' servers (starting them now)."""
    failures = connections.open_all()
    tools: list[Tool] = []
    taken: set[str] = set()
    for server, entry in connections.entries.items():
        failure = failures.get(server)
        offered = _live(connections, server) if failure is None else _remembered(entry, registry)
        for tool in offered:
            if not entry.tool_allowed(tool.name):
                continue
            name = mcp_tool_name(server, tool.name)
            if name in taken:  # two names that differ only in characters a name cannot hold
                name = mcp_tool_name(server, f"{tool.name}/{len(taken)}")
            taken.add(name)
            description = f"{tool.description} (tool {tool.name} of MCP server {server})".strip()
            tools.append(
                McpTool(
                    ToolSpec(name, description, _schema(tool.schema)),
                    server,
                    tool.name,
                    tool.read_only,
                    entry.containment == "contained",
                    connections,
                    str(failure) if failure is not None else None,
                )
            )
    return tools
