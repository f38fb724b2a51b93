"""Every AI action of the machine as a tool: its input schema made from its inputs' kinds,
its output schema from its outputs, streaming text sent as progress while it grows. The
listing follows the catalog: a definition added or removed while the server runs changes
it, and clients are told (``notifications/tools/list_changed``)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ainos.app.mcp_server._tools import ToolCall, ToolEntry, ToolFailure, json_result

if TYPE_CHECKING:
    from ainos.ai.actions import ActionDefinition, ActionRuntime, NamedActionEntity

__all__ = ["ActionTools"]

log = logging.getLogger(__name__)

# The agent's own action is the ``codex`` tool here; offering it twice would only confuse.
_EXCLUDED = frozenset({"Ainos.Codex"})


def _output_schema(definition: ActionDefinition) -> dict[str, Any]:
    properties = {
        info.name: {
            "type": "object",
            "description": f"a {info.kind_spec} entity",
            "properties": {"kind": {"type": "string"}, "id": {"type": "string"}},
            "required": ["kind"],
        }
        for info in definition.get_outputs()
    }
    return {"type": "object", "properties": properties}


def _input_schema(definition: ActionDefinition) -> dict[str, Any]:
    from ainos.ai.actions import value_schema

    inputs = definition.get_inputs()
    return {
        "type": "object",
        "properties": {info.name: value_schema(info) for info in inputs},
        "required": [info.name for info in inputs if info.required],
        "additionalProperties": False,
    }


class ActionTools:
    """The action catalog as tool entries, rebuilt when the catalog changes."""

    def __init__(self, runtime: ActionRuntime, workspace: Path) -> None:
        self.runtime = runtime
        self.workspace = workspace
        self._cache: tuple[tuple[str, ...], list[ToolEntry]] | None = None

    def entries(self) -> list[ToolEntry]:
        definitions = [
            d
            for d in self.runtime.action_catalog.get_all_actions()
            if d.id not in _EXCLUDED and self.runtime.get_action_availability(d.id)
        ]
        key = tuple(sorted(d.id for d in definitions))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, [self._entry(d) for d in definitions])
        return self._cache[1]

    def _entry(self, definition: ActionDefinition) -> ToolEntry:
        tool = types.Tool(
            name=definition.id,
            title=definition.id,
            description=f"AI action: {definition.description}",
            input_schema=_input_schema(definition),
            output_schema=_output_schema(definition),
            annotations=types.ToolAnnotations(open_world_hint=False),
        )
        return ToolEntry(tool, self._handler(definition.id))

    def _handler(self, action_id: str) -> Callable[[ToolCall], Awaitable[types.CallToolResult]]:
        async def handler(call: ToolCall) -> types.CallToolResult:
            return await self._invoke(action_id, call)

        return handler

    async def _invoke(self, action_id: str, call: ToolCall) -> types.CallToolResult:
        from ainos.ai.actions import (
            ActionInvocationResult,
            StreamingTextActionEntity,
            entity_from_value,
        )

        definition = self.runtime.action_catalog.get(action_id)
        context = self.runtime.create_invocation_context(action_id)
        for name, value in call.arguments.items():
            info = definition.input(name)
            if info is None:
                raise ToolFailure(f"{action_id}: invalid argument {name}: not an input")
            context.set_input_entity(
                name,
                entity_from_value(
                    self.runtime.entity_factory,
                    info.kind,
                    value,
                    name=name,
                    base=self.workspace,
                    element_kind=info.element_kind,
                ),
            )
        followers: list[asyncio.Task[None]] = []
        steps = 0

        async def follow(stream: StreamingTextActionEntity) -> None:
            nonlocal steps
            async for text in stream.changes():
                steps += 1
                await call.peer.progress(steps, None, text[-400:])

        def on_output(named: NamedActionEntity) -> None:
            if isinstance(named.entity, StreamingTextActionEntity):
                followers.append(asyncio.ensure_future(follow(named.entity)))

        context.add_output_handler(on_output)
        try:
            result = await self.runtime.invoke(context)
        finally:
            for follower in followers:
                follower.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
        if result is not ActionInvocationResult.SUCCESS:
            reason = context.extended_error or "no reason given"
            raise ToolFailure(f"{action_id}: {result.wire_name}: {reason}")
        outputs = {o.name: o.entity.to_dict() for o in context.get_output_entities()}
        texts = [
            (f"{name}: " if len(outputs) > 1 else "")
            + (entity["text"] if isinstance(entity.get("text"), str) else json.dumps(entity))
            for name, entity in outputs.items()
        ]
        return json_result(outputs, text="\n".join(texts) or "(no outputs)")
