"""OpenAI chat completions on the engine: checking a request, turning it into the engine's,
and turning the engine's chunks into the client's (tool calls included).

The checks are OpenAI's own where they can be — a request OpenAI accepts is accepted here,
fields this server cannot honour are refused with a message naming them, never dropped
silently when they change the answer (``n`` > 1, images).

Beyond OpenAI's fields, llama.cpp's repetition controls are accepted and checked:
``dry_multiplier``, ``dry_base``, ``dry_allowed_length``, ``dry_penalty_last_n``,
``dry_sequence_breakers``, ``repeat_penalty`` and ``repeat_last_n``. The fields a request leaves
out are the model's defaults, filled in by ``LlmService``: its catalog entry's, else
``_repetition.CHAT_REPETITION`` (DRY on; ``"dry_multiplier": 0`` turns it off).
``"ainos_repetition_guard": false`` turns off the guard that ends a generation stuck
repeating one short phrase (see ``_repetition``).

With tools, an output cut short (the token limit, a loop stopped) ends with ``finish_reason``
``"length"`` and only what was whole in it, never the broken JSON as text; a text answer
stopped in a loop ends as plain text does, with ``"stop"`` and its text.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ainos.ai.ml.llm._repetition import GUARD_FIELD, RepetitionGuard
from ainos.ai.ml.llm._tools import (
    ToolOutput,
    ToolPlan,
    parse_tool_output,
    plan_tools,
    render_tool_history,
)
from ainos.errors import InvalidArgument

__all__ = [
    "ChatCall",
    "ChatStream",
    "RequestError",
    "collect_completion",
    "openai_usage",
    "prepare_chat",
    "repetition_fields",
]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_MAX_STOP = 4
_MAX_INT32 = 2**31 - 1
_MAX_BREAKERS = 16


class RequestError(InvalidArgument):
    """A bad field of a request; ``param`` names it (OpenAI's error ``param``)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ChatCall:
    """A checked chat request: the model, what the engine is asked, and how to answer."""

    model: str
    engine_request: dict[str, Any]
    stream: bool
    include_usage: bool
    tools: ToolPlan | None
    completion_id: str = field(default_factory=lambda: "chatcmpl-" + secrets.token_hex(12))
    created: int = field(default_factory=lambda: int(time.time()))


def _text(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(f"{where}.content must be a string or a list of parts", where)
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise RequestError(f"{where}.content[{index}] must be an object", where)
        if part.get("type") in _TEXT_PARTS:
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "refusal":
            texts.append(str(part.get("refusal", "")))
        else:
            raise RequestError(
                f"{where}.content[{index}] is {part.get('type')!r}: this model takes text only",
                where,
            )
    return "".join(texts)


def _messages(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise RequestError("messages must be a non-empty array", "messages")
    messages = []
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise RequestError(f"{where} must be an object", where)
        role = message.get("role")
        if role not in _ROLES:
            raise RequestError(f"{where}.role must be one of {sorted(_ROLES)}", where)
        out: dict[str, Any] = {
            "role": "system" if role == "developer" else role,
            "content": _text(message.get("content"), where),
        }
        if role == "assistant" and message.get("tool_calls"):
            out["tool_calls"] = _tool_calls(message["tool_calls"], where)
        if role == "tool":
            out["tool_call_id"] = str(message.get("tool_call_id") or "")
            if isinstance(message.get("name"), str) and message["name"]:
                out["name"] = message["name"]  # an output answering no call names itself
        messages.append(out)
    return messages


def _tool_calls(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise RequestError(f"{where}.tool_calls must be an array", where)
    calls = []
    for call in value:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise RequestError(f"{where}.tool_calls entries need a function name", where)
        calls.append(
            {
                "id": str(call.get("id") or ""),
                "type": "function",
                "function": {
                    "name": function["name"],
                    "arguments": str(function.get("arguments") or "{}"),
                },
            }
        )
    return calls


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise RequestError(f"{name} must be a number from {low} to {high}", name)
    return float(value)


def _integer(body: Mapping[str, Any], name: str, low: int, high: int, why: str = "") -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"{name} must be an integer from {low} to {high}{why}", name)
    return value


def repetition_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """llama.cpp's repetition controls of a request (or of a model's catalog entry), checked;
    raises :class:`RequestError`. Those it leaves out are not filled in here."""
    fields: dict[str, Any] = {}
    for name, low, high in (("dry_multiplier", 0.0, 5.0), ("dry_base", 1.0, 8.0)):
        number = _number(body, name, low, high)
        if number is not None:
            fields[name] = number
    for name, low, high, why in (
        ("dry_allowed_length", 1, 1024, ""),
        ("dry_penalty_last_n", 0, _MAX_INT32, " (0 turns DRY off)"),
        ("repeat_last_n", 0, _MAX_INT32, " (0 turns the repeat penalty off)"),
    ):
        integer = _integer(body, name, low, high, why)
        if integer is not None:
            fields[name] = integer
    penalty = body.get("repeat_penalty")
    if penalty is not None:
        if (
            isinstance(penalty, bool)
            or not isinstance(penalty, (int, float))
            or not 0 < penalty <= 2
        ):
            raise RequestError(
                "repeat_penalty must be a number above 0 and at most 2 (1: off)", "repeat_penalty"
            )
        fields["repeat_penalty"] = float(penalty)
    breakers = body.get("dry_sequence_breakers")
    if breakers is not None:
        if (
            not isinstance(breakers, list)
            or not 0 < len(breakers) <= _MAX_BREAKERS
            or not all(isinstance(b, str) and b for b in breakers)
        ):
            raise RequestError(
                f"dry_sequence_breakers must be an array of 1 to {_MAX_BREAKERS} non-empty strings",
                "dry_sequence_breakers",
            )
        fields["dry_sequence_breakers"] = list(breakers)
    guard = body.get(GUARD_FIELD)
    if guard is not None and not isinstance(guard, bool):
        raise RequestError(f"{GUARD_FIELD} must be true or false", GUARD_FIELD)
    if guard is False:
        fields[GUARD_FIELD] = False
    return fields


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        # Bounded here: the engine takes it as a C int, where a larger one wraps.
        value = _integer(body, name, 1, _MAX_INT32)
        if value is not None:
            return value
    return None


def _stop(value: object) -> list[str] | None:
    if value is None:
        return None
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise RequestError("stop must be a string or an array of non-empty strings", "stop")
    if len(stops) > _MAX_STOP:
        raise RequestError(f"stop takes at most {_MAX_STOP} sequences", "stop")
    return stops


def _response_format(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or value.get("type") not in (
        "text",
        "json_object",
        "json_schema",
    ):
        raise RequestError(
            "response_format.type must be text, json_object or json_schema", "response_format"
        )
    if value["type"] == "text":
        return None
    if value["type"] == "json_object":
        return {"type": "json_object"}
    spec = value.get("json_schema")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("schema", {}), Mapping):
        raise RequestError(
            "response_format.json_schema must be an object with a schema", "response_format"
        )
    return {"type": "json_schema", "json_schema": {"schema": dict(spec.get("schema") or {})}}


def prepare_chat(body: Mapping[str, Any], default_model: str | None) -> ChatCall:
    """Check an OpenAI chat-completions request; raises :class:`RequestError`."""
    model = body.get("model") or default_model
    if not isinstance(model, str) or not model:
        raise RequestError("model is required", "model")
    n = body.get("n", 1)
    if n not in (1, None):
        raise RequestError("n must be 1: this server makes one choice per request", "n")
    messages = _messages(body.get("messages"))
    request: dict[str, Any] = {}
    for name, low, high in (
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    ):
        value = _number(body, name, low, high)
        if value is not None:
            request[name] = value
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise RequestError("seed must be an integer", "seed")
        request["seed"] = seed
    max_tokens = _max_tokens(body)
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    stop = _stop(body.get("stop"))
    if stop:
        request["stop"] = stop
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise RequestError("tools must be an array", "tools")
    response_format = _response_format(body.get("response_format"))
    # With tools, a response format constrains the answer the model gives instead of a call.
    answer = None
    if response_format is not None:
        answer = (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
    try:
        plan = plan_tools(
            tools,
            body.get("tool_choice"),
            body.get("parallel_tool_calls") is not False,
            answer_schema=answer,
            max_tokens=max_tokens,
        )
    except InvalidArgument as exc:
        raise RequestError(str(exc), "tools") from None
    if plan is not None:
        messages = render_tool_history(messages)
        messages.insert(0, {"role": "system", "content": plan.instructions})
        response_format = {"type": "json_schema", "json_schema": {"schema": plan.schema}}
    elif any(m.get("tool_calls") or m["role"] == "tool" for m in messages):
        messages = render_tool_history(messages)
    request["messages"] = _merge_system(messages)
    request.update(repetition_fields(body))
    if response_format is not None:
        request["response_format"] = response_format
    stream = bool(body.get("stream"))
    options = body.get("stream_options") or {}
    include_usage = bool(isinstance(options, Mapping) and options.get("include_usage"))
    return ChatCall(model, request, stream, include_usage, plan)


def _merge_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System messages first and as one: many chat templates accept only one, at the start."""
    system = [m["content"] for m in messages if m["role"] == "system" and m["content"]]
    rest = [m for m in messages if m["role"] != "system"]
    return ([{"role": "system", "content": "\n\n".join(system)}] if system else []) + rest


def openai_usage(engine_usage: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's usage, with the prompt tokens the KV cache already held (prefix reuse)."""
    usage: dict[str, Any] = {
        k: int(engine_usage.get(k, 0))
        for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    details = engine_usage.get("prompt_tokens_details")
    if isinstance(details, Mapping):
        usage["prompt_tokens_details"] = {"cached_tokens": int(details.get("cached_tokens", 0))}
    return usage


def _loop_answer(output: ToolOutput) -> bool:
    """Whether a cut output is a text answer that ended in a loop: it ends as a loop in
    plain text does ("stop", its text kept), where a call cut short or an answer cut by the
    token limit is "length"."""
    return bool(output.text) and not output.calls and RepetitionGuard().feed(output.text or "")


class ChatStream:
    """Engine chunks in, the client's ``chat.completion.chunk`` dicts out.

    Text streams through as it comes. With tools the output is JSON that only means
    something whole, so it is held and turned into a ``tool_calls`` (or text) delta at the end.
    """

    def __init__(self, call: ChatCall) -> None:
        self._call = call
        self._held: list[str] = []
        self._started = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self._call.completion_id,
            "object": "chat.completion.chunk",
            "created": self._call.created,
            "model": self._call.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    def _opening(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self._opening()
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = openai_usage(usage)
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            if text:
                if self._call.tools is not None:
                    self._held.append(text)
                else:
                    out.append(self._chunk({"content": text}))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return out

    def finish(self) -> list[dict[str, Any]]:
        out = self._opening()
        finish = self.finish_reason or "stop"
        if self._call.tools is not None:
            output = parse_tool_output("".join(self._held), self._call.tools.json_answer)
            if output.calls:
                calls = [{"index": i, **c} for i, c in enumerate(output.calls)]
                out.append(self._chunk({"tool_calls": calls}))
            elif output.text:
                out.append(self._chunk({"content": output.text}))
            if not output.complete:
                finish = "stop" if _loop_answer(output) else "length"
            elif output.calls:
                finish = "tool_calls"
        out.append(self._chunk({}, finish))
        if self._call.include_usage:
            final = self._chunk({})
            final["choices"] = []
            final["usage"] = self.usage or {
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
            }
            out.append(final)
        return out


def collect_completion(
    call: ChatCall, chunks: Sequence[Mapping[str, Any]], usage: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` from the client chunks of one generation."""
    content: list[str] = []
    calls: list[dict[str, Any]] = []
    finish = "stop"
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            calls.extend(
                {k: v for k, v in call.items() if k != "index"}
                for call in delta.get("tool_calls") or ()
            )
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return {
        "id": call.completion_id,
        "object": "chat.completion",
        "created": call.created,
        "model": call.model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": dict(usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
    }
