"""Tool calls through constrained generation, for models without a native tool format.

The model is told the tools in a system message and its output is constrained to a JSON
schema: ``{"tool_calls": [{"name", "arguments"}]}`` (or ``{"content": str}`` when it may
answer in text instead; with a response format, the answer is JSON matching its schema).
Whatever the model's size, the output then parses and names a real tool with arguments
matching its parameters. Earlier turns are rendered the same way, so templates without a tool
role read them as plain messages.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ainos.errors import InvalidArgument

__all__ = [
    "ToolPlan",
    "answer_prefix",
    "parse_tool_output",
    "plan_tools",
    "render_tool_history",
    "tool_call_id",
]

_OBJECT = {"type": "object"}
# The start of a text answer, {"content": "..., and the string's characters so far.
_ANSWER = re.compile(r'\s*\{\s*"content"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)')


def tool_call_id() -> str:
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True)
class ToolPlan:
    """How one request uses its tools: the schema its output must match, and the system
    message that tells the model about them."""

    schema: dict[str, Any]
    instructions: str
    may_answer: bool  # "auto": the model may reply with text instead of calling
    json_answer: bool = False  # the answer is JSON of a response format, not {"content"}


def _function(tool: object, index: int) -> dict[str, Any]:
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        raise InvalidArgument(f"tools[{index}] must be a function tool")
    function = tool.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InvalidArgument(f"tools[{index}].function needs a name")
    parameters = function.get("parameters") or _OBJECT
    if not isinstance(parameters, Mapping):
        raise InvalidArgument(f"tools[{index}].function.parameters must be a JSON schema object")
    return {
        "name": function["name"],
        "description": str(function.get("description") or ""),
        "parameters": dict(parameters),
    }


def _call_schema(function: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, "arguments": function["parameters"]},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def plan_tools(
    tools: Sequence[object],
    tool_choice: object,
    parallel: bool,
    answer_schema: Mapping[str, Any] | None = None,
) -> ToolPlan | None:
    """The plan for ``tools`` under ``tool_choice``; None when no tool may be called.
    ``answer_schema``: the answer given instead of a call is JSON matching it (a response
    format), not ``{"content": text}``."""
    functions = [_function(tool, index) for index, tool in enumerate(tools)]
    if not functions or tool_choice == "none":
        return None
    may_answer = tool_choice in (None, "auto")
    if isinstance(tool_choice, Mapping):
        wanted = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        functions = [f for f in functions if f["name"] == wanted]
        if not functions:
            raise InvalidArgument(f"tool_choice names {wanted!r}, which is not among the tools")
    elif tool_choice not in (None, "auto", "required"):
        raise InvalidArgument("tool_choice must be 'none', 'auto', 'required' or a function")
    calls: dict[str, Any] = {
        "type": "array",
        "items": {"anyOf": [_call_schema(f) for f in functions]},
        "minItems": 1,
    }
    if not parallel:
        calls["maxItems"] = 1
    call_branch = {
        "type": "object",
        "properties": {"tool_calls": calls},
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
    answer_branch: dict[str, Any] = (
        dict(answer_schema)
        if answer_schema is not None
        else {
            "type": "object",
            "properties": {"content": {"type": "string"}},
            "required": ["content"],
            "additionalProperties": False,
        }
    )
    schema = {"anyOf": [call_branch, answer_branch]} if may_answer else call_branch
    listing = "\n".join(
        f"- {f['name']}: {f['description']}\n  parameters: {json.dumps(f['parameters'])}"
        for f in functions
    )
    answer = (
        f"reply with JSON matching this schema: {json.dumps(answer_schema)}"
        if answer_schema is not None
        else 'reply {"content": "..."}'
    )
    how = (
        'To call tools reply {"tool_calls": [{"name": ..., "arguments": {...}}]}; '
        f"to answer without a tool {answer}."
        if may_answer
        else 'Reply {"tool_calls": [{"name": ..., "arguments": {...}}]}.'
    )
    instructions = f"You can call these tools:\n{listing}\n{how}"
    return ToolPlan(schema, instructions, may_answer, may_answer and answer_schema is not None)


def answer_prefix(text: str) -> str | None:
    """The text of a ``{"content": "..."}`` answer as far as it has come (a stream, or an
    output cut short), decoded; None when ``text`` is not such an answer."""
    match = _ANSWER.match(text)
    if match is None:
        return None
    raw = match.group(1)  # complete escapes only: a lone backslash at the end is left out
    # A \uXXXX escape may still be cut: up to five characters of it.
    for cut in range(6):
        try:
            decoded = str(json.loads(f'"{raw[: len(raw) - cut]}"', strict=False))
            break
        except json.JSONDecodeError:
            continue
    else:
        return None
    # Half of a surrogate pair waits for its other half.
    return decoded[:-1] if decoded and "\ud800" <= decoded[-1] <= "\udbff" else decoded


def parse_tool_output(
    text: str, json_answer: bool = False
) -> tuple[str | None, list[dict[str, Any]]]:
    """The reply text or the tool calls in a constrained output (OpenAI's tool_calls shape).
    ``json_answer``: an answer is the JSON document itself (a response format's)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # Cut short (max_tokens, a loop stopped): the text of an answer so far, else as is.
        prefix = None if json_answer else answer_prefix(text)
        return (text if prefix is None else prefix), []
    if not isinstance(document, dict):
        return text, []
    if isinstance(document.get("tool_calls"), list):
        calls = [
            {
                "id": tool_call_id(),
                "type": "function",
                "function": {
                    "name": str(call.get("name", "")),
                    "arguments": json.dumps(call.get("arguments", {})),
                },
            }
            for call in document["tool_calls"]
            if isinstance(call, dict)
        ]
        return None, calls
    if json_answer:
        return text.strip(), []
    content = document.get("content")
    return (content if isinstance(content, str) else text), []


def render_tool_history(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Earlier tool calls and results as plain assistant/user messages, in the same JSON the
    model is asked to write, so any chat template can render them."""
    names: dict[str, str] = {}
    rendered: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                names[str(call.get("id"))] = str(function.get("name", ""))
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except json.JSONDecodeError:
                    arguments = function.get("arguments")
                calls.append({"name": function.get("name"), "arguments": arguments})
            rendered.append({"role": "assistant", "content": json.dumps({"tool_calls": calls})})
        elif role == "tool":
            call_id = str(message.get("tool_call_id", ""))
            name = names.get(call_id, "the tool")
            result = message.get("content", "")
            rendered.append({"role": "user", "content": f"Result of {name}: {result}"})
        else:
            rendered.append(dict(message))
    return rendered
