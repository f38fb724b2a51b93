"""The server's tools: each a ``types.Tool`` and the coroutine that answers a call, looked up
by name, its arguments checked against its input schema before it runs.

A call's failure is a tool result with ``isError`` and one line naming the reason — a bad
field, an unknown tool, an action that crashed — never a protocol error, so the model on
the other side reads what went wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from ainos.errors import AinosError

if TYPE_CHECKING:
    from mcp.server import ServerRequestContext

    from ainos.app.mcp_server._peer import RequestPeer

__all__ = [
    "ToolCall",
    "ToolEntry",
    "ToolFailure",
    "ToolResult",
    "ToolSet",
    "check_arguments",
    "error_result",
    "json_result",
]


class ToolFailure(AinosError):
    """A call that cannot be answered; its message is what the caller reads."""


@dataclass(frozen=True)
class ToolCall:
    """One ``tools/call``; a retry (2026-07-28) carries the answers to the questions its
    first round returned, and the state that round left."""

    name: str
    arguments: dict[str, Any]
    ctx: ServerRequestContext[Any, Any]
    peer: RequestPeer
    input_responses: Mapping[str, Any] | None = None
    request_state: str | None = None


# A call's result: the tool's, or (2026-07-28) the questions to answer before it goes on.
ToolResult = types.CallToolResult | types.InputRequiredResult


ToolHandler = Callable[[ToolCall], Awaitable[ToolResult]]


@dataclass(frozen=True)
class ToolEntry:
    tool: types.Tool
    handler: ToolHandler


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def json_result(value: Mapping[str, Any], text: str | None = None) -> types.CallToolResult:
    """A structured result, with its JSON (or ``text``) as the text content for clients
    that read only that."""
    import json

    shown = text if text is not None else json.dumps(value, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(text=shown)], structured_content=dict(value)
    )


def _where(error: SchemaError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = next((f for f in required if f not in error.instance), None)
        if missing is not None:
            path.append(str(missing))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
    return ".".join(path) or "(arguments)"


def check_arguments(
    tool: types.Tool, arguments: Mapping[str, Any], validator: Draft202012Validator | None = None
) -> None:
    """``ToolFailure`` naming the first field that does not fit the tool's input schema."""
    validator = validator or Draft202012Validator(tool.input_schema)
    errors = sorted(validator.iter_errors(dict(arguments)), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ToolFailure(f"{tool.name}: invalid argument {_where(first)}: {first.message}")


class ToolSet:
    """Named tools: a fixed set, plus sources asked on every listing (the action catalog
    changes while the server runs)."""

    def __init__(
        self,
        fixed: Iterable[ToolEntry] = (),
        sources: Iterable[Callable[[], Iterable[ToolEntry]]] = (),
    ) -> None:
        self._fixed = {entry.tool.name: entry for entry in fixed}
        self._sources = list(sources)
        # One validator per schema: building one costs more than using it.
        self._validators: dict[int, tuple[types.Tool, Draft202012Validator]] = {}

    def add(self, entry: ToolEntry) -> None:
        self._fixed[entry.tool.name] = entry

    def entries(self) -> list[ToolEntry]:
        found = dict(self._fixed)
        for source in self._sources:
            for entry in source():
                found.setdefault(entry.tool.name, entry)
        return list(found.values())

    def get(self, name: str) -> ToolEntry | None:
        entry = self._fixed.get(name)
        if entry is not None:
            return entry
        return next((e for e in self.entries() if e.tool.name == name), None)

    def signature(self) -> tuple[tuple[str, str], ...]:
        """What a client's copy of the listing depends on: names and schemas."""
        import json

        return tuple(
            sorted(
                (e.tool.name, json.dumps(e.tool.input_schema, sort_keys=True))
                for e in self.entries()
            )
        )

    def _validator(self, tool: types.Tool) -> Draft202012Validator:
        cached = self._validators.get(id(tool))
        if cached is None or cached[0] is not tool:
            cached = (tool, Draft202012Validator(tool.input_schema))
            self._validators[id(tool)] = cached
        return cached[1]

    async def call(self, call: ToolCall) -> ToolResult:
        entry = self.get(call.name)
        if entry is None:
            return error_result(f"unknown tool {call.name!r}")
        try:
            check_arguments(entry.tool, call.arguments, self._validator(entry.tool))
            return await entry.handler(call)
        except AinosError as exc:
            return error_result(str(exc))
        except Exception as exc:
            # A tool's bug must not take the server down; the caller reads the reason.
            return error_result(f"{call.name} failed: {type(exc).__name__}: {exc}")
