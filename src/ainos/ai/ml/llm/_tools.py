"""Tool calls through constrained generation, for models without a native tool format.

The model is told the tools in a system message and its output is constrained to a JSON
schema: ``{"tool_calls": [{"name", "arguments"}]}`` (or ``{"content": str}`` when it may
answer in text instead; with a response format, the answer is JSON matching its schema).
Whatever the model's size, the output then parses and names a real tool with arguments
matching its parameters. Earlier turns are rendered the same way, so templates without a tool
role read them as plain messages.

A grammar keeps the output JSON, not sensible: a small model can fall into a string argument
and fill it to the token limit (thousands of digits in an id). So every string and array of
the call schema is bounded (``maxLength``, ``maxItems``, which llama.cpp's schema converter
enforces) and an output cut short anyway is reported as such (:class:`ToolOutput`), never
passed off as text.
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
    "ToolOutput",
    "ToolPlan",
    "answer_prefix",
    "bound_schema",
    "parse_tool_output",
    "plan_tools",
    "render_tool_history",
    "tool_call_id",
]

_OBJECT = {"type": "object"}
# The start of a text answer, {"content": "..., and the string's characters so far.
_ANSWER = re.compile(r'\s*\{\s*"content"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)')
# The start of a call list, {"tool_calls": [ ; the calls follow it.
_CALLS = re.compile(r'\s*\{\s*"tool_calls"\s*:\s*\[\s*')
_SEPARATOR = re.compile(r"\s*,\s*")

# Characters a string argument may take when its schema sets no maxLength, by what its name
# says it holds: an id, a path or a name fits in 256; a command, a query or a message in 4 KB;
# file contents and patches get what the token budget leaves (at most 32 KB).
_SHORT_TEXT = 256
_TEXT = 4096
_BODY = 32768
# Matched against a field's name in snake case: its last word decides.
_SHORT_FIELD = re.compile(
    r"(?:.*_)?(?:ids?|paths?|files?|filename|dir|directory|cwd|workdir|names?|url|uri|ref"
    r"|branch|key|status|mode|type|kind|lang|language|sha|email|model|tool)"
)
_BODY_FIELD = re.compile(
    r"(?:.*_)?(?:content|contents|patch|diff|body|text|code|input|source|data|string|str"
    r"|replacement)"
)
_ITEMS = 64  # items of an array whose schema sets no maxItems (arguments of a command …)
_PARALLEL_CALLS = 8  # calls in one reply, when several may be made at once
# Tokens of the JSON around one call's arguments as a small model writes it (indented, one
# key a line): about 30 for SmolLM2, with room to spare.
_CALL_TOKENS = 40


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


def _text_limit(field: str) -> int:
    """The default maxLength of a string argument named ``field`` (its last word decides:
    ``session_id`` is an id, ``new_string`` a body)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", field).lower()
    if _SHORT_FIELD.fullmatch(snake):
        return _SHORT_TEXT
    if _BODY_FIELD.fullmatch(snake):
        return _BODY
    return _TEXT


def _bound(schema: dict[str, Any], key: str, limit: int, least_key: str) -> None:
    """``schema[key]`` at most ``limit``, never below the schema's own minimum."""
    given = schema.get(key)
    if given is not None and (isinstance(given, bool) or not isinstance(given, int)):
        return  # not a count: the converter reports it
    least = schema.get(least_key)
    least = least if isinstance(least, int) and not isinstance(least, bool) else 0
    schema[key] = max(least, limit if given is None else min(given, limit))


def bound_schema(schema: object, budget: int | None, field: str = "") -> Any:
    """``schema`` with every string bounded (``maxLength``) and every array (``maxItems``):
    the schema's own bound where it has one, else a default by the field's name
    (:func:`_text_limit`, :data:`_ITEMS`); neither above ``budget`` when one is given.
    Subschemas are bounded alike; anything that is not a schema object is returned as is."""
    if not isinstance(schema, Mapping):
        return schema
    out = dict(schema)
    kind = out.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    ceiling = budget if budget is not None else _BODY
    if "string" in kinds and "enum" not in out and "const" not in out:
        _bound(out, "maxLength", min(_text_limit(field), ceiling), "minLength")
    if "array" in kinds:
        _bound(out, "maxItems", min(_ITEMS, ceiling), "minItems")
    properties = out.get("properties")
    if isinstance(properties, Mapping):
        out["properties"] = {
            name: bound_schema(sub, budget, str(name)) for name, sub in properties.items()
        }
    for key in ("$defs", "definitions", "patternProperties"):
        if isinstance(out.get(key), Mapping):
            out[key] = {name: bound_schema(sub, budget, field) for name, sub in out[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), Mapping):
            out[key] = bound_schema(out[key], budget, field)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems", "items"):
        if isinstance(out.get(key), list):
            out[key] = [bound_schema(sub, budget, field) for sub in out[key]]
    return out


def _string_budget(max_tokens: int | None) -> int | None:
    """The most characters one string argument may take under ``max_tokens``: half of what
    the JSON around a call leaves, counting a character a token (runs of digits or symbols,
    the runaway kind, are tokenised about so), so a call whose string ran to its bound still
    has tokens left to close."""
    return None if max_tokens is None else max(1, (max_tokens - _CALL_TOKENS) // 2)


def _call_schema(function: Mapping[str, Any], budget: int | None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"const": function["name"]},
            "arguments": bound_schema(function["parameters"], budget),
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def plan_tools(
    tools: Sequence[object],
    tool_choice: object,
    parallel: bool,
    answer_schema: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
) -> ToolPlan | None:
    """The plan for ``tools`` under ``tool_choice``; None when no tool may be called.
    ``answer_schema``: the answer given instead of a call is JSON matching it (a response
    format), not ``{"content": text}``. ``max_tokens``: the reply's limit, which bounds the
    strings and arrays of a call further (:func:`bound_schema`)."""
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
    budget = _string_budget(max_tokens)
    calls: dict[str, Any] = {
        "type": "array",
        "items": {"anyOf": [_call_schema(f, budget) for f in functions]},
        "minItems": 1,
        "maxItems": _PARALLEL_CALLS if parallel else 1,
    }
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


@dataclass(frozen=True)
class ToolOutput:
    """What a constrained output says: a reply text, or tool calls (OpenAI's tool_calls
    shape). ``complete`` False: the output was cut short (the token limit, a loop stopped)
    and only its valid part is here — an answer's text so far, the calls finished before the
    broken one — never the broken JSON itself."""

    text: str | None
    calls: list[dict[str, Any]]
    complete: bool = True


def _openai_call(call: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": tool_call_id(),
        "type": "function",
        "function": {
            "name": str(call.get("name", "")),
            "arguments": json.dumps(call.get("arguments", {})),
        },
    }


def _finished_calls(text: str) -> list[dict[str, Any]] | None:
    """The calls of a ``{"tool_calls": [...`` output cut short that were written whole;
    None when ``text`` is not such an output."""
    match = _CALLS.match(text)
    if match is None:
        return None
    decoder = json.JSONDecoder()
    calls: list[dict[str, Any]] = []
    position = match.end()
    while True:
        try:
            call, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return calls
        if isinstance(call, dict):
            calls.append(_openai_call(call))
        separator = _SEPARATOR.match(text, position)
        if separator is None:
            return calls
        position = separator.end()


def parse_tool_output(text: str, json_answer: bool = False) -> ToolOutput:
    """The reply text or the tool calls in a constrained output.
    ``json_answer``: an answer is the JSON document itself (a response format's)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        calls = _finished_calls(text)
        if calls is not None:
            return ToolOutput(None, calls, complete=False)
        return ToolOutput(None if json_answer else answer_prefix(text), [], complete=False)
    if isinstance(document, dict) and isinstance(document.get("tool_calls"), list):
        calls = [_openai_call(c) for c in document["tool_calls"] if isinstance(c, dict)]
        return ToolOutput(None, calls)
    if json_answer:
        return ToolOutput(text.strip(), [])
    content = document.get("content") if isinstance(document, dict) else None
    if not isinstance(content, str):
        return ToolOutput(None, [], complete=False)  # not the shape asked for
    return ToolOutput(content, [])


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
            name = names.get(call_id) or message.get("name") or "the tool"
            result = message.get("content", "")
            rendered.append({"role": "user", "content": f"Result of {name}: {result}"})
        else:
            rendered.append(dict(message))
    return rendered
