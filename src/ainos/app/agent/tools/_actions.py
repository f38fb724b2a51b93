"""Every AI action of the machine as a tool, its schema made from its entity kinds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ainos.app.agent._model import ToolSpec
from ainos.app.agent.tools._base import (
    FunctionTool,
    Tool,
    ToolContext,
    walkable_path,
)


def action_tool_name(action_id: str) -> str:
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
            action_tool_name(definition.id),
            f"AI action {definition.id}: {definition.description}",
            {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        )
        tools.append(FunctionTool(spec, _ActionCall(runtime, definition.id), server="actions"))
    return tools


@dataclass(frozen=True)
class _ActionCall:
    runtime: Any
    action_id: str

    def __call__(self, context: ToolContext, args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        from ainos.ai.actions import PATH_KINDS, ActionInvocationResult, entity_from_value

        definition = self.runtime.action_catalog.get(self.action_id)
        factory = self.runtime.entity_factory
        inputs = {}
        for name, value in args.items():
            info = definition.input(name)
            if info is None:
                continue
            if isinstance(value, str) and info.kind in PATH_KINDS:
                walkable_path(context, value)
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
