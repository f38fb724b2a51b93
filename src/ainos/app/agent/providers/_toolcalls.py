"""Checking a model's tool calls against the tools it was offered, and the one repair retry.

A call is valid when its tool exists and its arguments are a JSON object that has every
required property of the tool's schema, with the declared JSON type (recursively, for the
``type`` / ``enum`` / ``required`` / ``properties`` / ``items`` keywords — what tool schemas
use; anything else is left to the tool). An invalid reply is shown back to the model once,
with what was wrong; a second invalid reply becomes a plain answer with ``finish_reason``
``"invalid_tool_call"``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ainos._json import json_kind
from ainos.app.agent._model import (
    Message,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolSpec,
    new_call_id,
)

__all__ = [
    "INVALID_TOOL_CALL",
    "Attempt",
    "RawCall",
    "complete_with_repair",
    "read_calls",
    "schema_problems",
]

INVALID_TOOL_CALL = "invalid_tool_call"
_MAX_DEPTH = 16


@dataclass(frozen=True)
class RawCall:
    """A call as the model wrote it: arguments as JSON text, or already parsed."""

    name: str
    arguments: object
    call_id: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One generation: the reply, what is wrong with its tool calls (nothing: valid), and the
    output as the model wrote it (shown back to it by a repair)."""

    reply: ModelReply
    problems: tuple[str, ...] = ()
    output: str = ""


def _is_type(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "null":
        return value is None
    return True  # a type this checker does not know: the tool will judge


def schema_problems(value: object, schema: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with ``value`` under ``schema``; ``where`` names it in the messages."""
    return _problems(value, schema, where, 0)


def _problems(value: object, schema: Mapping[str, Any], where: str, depth: int) -> list[str]:
    if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
        return []
    declared = schema.get("type")
    kinds = [declared] if isinstance(declared, str) else declared
    if isinstance(kinds, list) and kinds and not any(_is_type(value, str(k)) for k in kinds):
        wanted = " or ".join(str(k) for k in kinds)
        return [f"{where} must be {_article(wanted)}, not {json_kind(value)}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{where} must be one of {json.dumps(enum)}"]
    problems: list[str] = []
    if isinstance(value, dict):
        required = schema.get("required")
        if isinstance(required, list):
            problems += [
                f"{where} lacks the required property {name!r}"
                for name in required
                if isinstance(name, str) and name not in value
            ]
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, item in value.items():
                if name in properties:
                    problems += _problems(item, properties[name], f"{where}.{name}", depth + 1)
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problems += _problems(item, schema["items"], f"{where}[{index}]", depth + 1)
    return problems


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def read_calls(
    raw: Sequence[RawCall], tools: Sequence[ToolSpec]
) -> tuple[tuple[ToolCall, ...], tuple[str, ...]]:
    """The calls, checked against ``tools``; and every problem found (none: all valid)."""
    by_name = {tool.name: tool for tool in tools}
    calls: list[ToolCall] = []
    problems: list[str] = []
    for call in raw:
        tool = by_name.get(call.name)
        if tool is None:
            known = ", ".join(sorted(by_name)) or "none"
            problems.append(f"there is no tool named {call.name!r} (the tools are: {known})")
            continue
        arguments = call.arguments
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as exc:
                problems.append(f"the arguments of {call.name} are not valid JSON ({exc.msg})")
                continue
        if not isinstance(arguments, dict):
            problems.append(
                f"the arguments of {call.name} must be a JSON object, not {json_kind(arguments)}"
            )
            continue
        found = schema_problems(arguments, tool.parameters, "arguments")
        if found:
            problems += [f"{call.name}: {problem}" for problem in found]
            continue
        calls.append(ToolCall(call.call_id or new_call_id(), call.name, arguments))
    return tuple(calls), tuple(problems)


def repair_messages(output: str, problems: Sequence[str], how: str) -> list[Message]:
    """What a repair adds to the conversation: the faulty reply, then what was wrong with it."""
    listed = "; ".join(problems)
    return [
        {"role": "assistant", "content": output},
        {
            "role": "user",
            "content": f"That reply is not a valid tool call: {listed}. Reply again: {how}",
        },
    ]


def complete_with_repair(
    request: ModelRequest, attempt: Callable[[ModelRequest], Attempt], how: str
) -> ModelReply:
    """``attempt`` the request; if its tool calls are invalid, once more with the faulty
    output and its problems appended (``how``: how to reply right); if still invalid, the
    output as a plain answer with ``finish_reason`` ``"invalid_tool_call"``."""
    first = attempt(request)
    if not first.problems:
        return first.reply
    retry = dataclasses.replace(
        request,
        messages=[*request.messages, *repair_messages(first.output, first.problems, how)],
    )
    second = attempt(retry)
    usage = first.reply.usage + second.reply.usage
    if not second.problems:
        return dataclasses.replace(second.reply, usage=usage)
    return ModelReply(text=second.output, usage=usage, finish_reason=INVALID_TOOL_CALL)
