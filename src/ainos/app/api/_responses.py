"""The OpenAI Responses API (``POST /v1/responses``) on top of chat completions.

Three pure steps, no HTTP: :func:`to_chat` checks a Responses request and turns it into a
chat-completions request (resolving ``previous_response_id`` from a :class:`ResponseStore`);
:func:`stream_events` turns the engine's ``chat.completion.chunk`` dicts into Responses
streaming events; :func:`collect_response` builds the non-streaming Response object.

Leniency follows OpenAI's server: echoed items with ``null`` fields, reasoning items and tools
this server has no use for (web search, MCP …) are accepted and ignored; a malformed request
raises :class:`ResponsesRequestError` naming the offending field.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ainos._json import json_kind
from ainos.ai.ml.llm import RequestError
from ainos.app.api._keepalive import with_ticks
from ainos.errors import AinosError, ContextLengthExceeded, InvalidArgument, NotFound

__all__ = [
    "ResponseNotFound",
    "ResponseStore",
    "ResponsesRequestError",
    "ResponsesTurn",
    "StoredResponse",
    "collect_response",
    "stream_events",
    "to_chat",
]

Json = dict[str, Any]

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_TOOL_CHOICES = frozenset({"auto", "none", "required"})
_VERBOSITY = frozenset({"low", "medium", "high"})
# Chat finish reasons that end a response early, and the Responses reason they become.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


class ResponsesRequestError(RequestError):
    """A bad field of a Responses request; ``param`` names it (OpenAI's error ``param``)."""


class ResponseNotFound(NotFound):
    """No stored response has this id (never stored, ``store: false``, or evicted).

    ``param`` is ``"previous_response_id"`` when a request referred to it that way.
    """

    def __init__(self, message: str, response_id: str, param: str | None = None) -> None:
        super().__init__(message)
        self.response_id = response_id
        self.param = param


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


# --------------------------------------------------------------------------------------------
# The store behind previous_response_id


@dataclass(frozen=True)
class StoredResponse:
    """One finished response: the chat history that produced it (without its
    ``instructions``, which are never carried over) and its output as chat messages."""

    history: tuple[Json, ...]
    output_messages: tuple[Json, ...]
    response: Json

    @property
    def conversation(self) -> list[Json]:
        """The chat messages a follow-up response continues from (copies)."""
        return copy.deepcopy([*self.history, *self.output_messages])


class ResponseStore:
    """Finished responses by id, the least recently used dropped beyond ``capacity``.

    Thread-safe; entries are deep copies, so callers can neither change them nor be changed.
    """

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 1:
            raise InvalidArgument(
                f"a response store needs a capacity of at least 1, not {capacity}"
            )
        self._capacity = capacity
        self._entries: OrderedDict[str, StoredResponse] = OrderedDict()
        self._lock = threading.Lock()

    def put(
        self,
        response_id: str,
        history: Sequence[Mapping[str, Any]],
        output_messages: Sequence[Mapping[str, Any]],
        response: Mapping[str, Any],
    ) -> None:
        entry = StoredResponse(
            tuple(copy.deepcopy([dict(m) for m in history])),
            tuple(copy.deepcopy([dict(m) for m in output_messages])),
            copy.deepcopy(dict(response)),
        )
        with self._lock:
            self._entries[response_id] = entry
            self._entries.move_to_end(response_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def get(self, response_id: str) -> StoredResponse:
        """The stored response; raises :class:`ResponseNotFound`."""
        with self._lock:
            entry = self._entries.get(response_id)
            if entry is not None:
                self._entries.move_to_end(response_id)
        if entry is None:
            raise ResponseNotFound(f"Response with id '{response_id}' not found.", response_id)
        return entry

    def response(self, response_id: str) -> Json:
        """A copy of the stored Response object (for ``GET /v1/responses/{id}``)."""
        return copy.deepcopy(self.get(response_id).response)

    def delete(self, response_id: str) -> None:
        """Forget a response; raises :class:`ResponseNotFound` when it is not stored."""
        with self._lock:
            if self._entries.pop(response_id, None) is not None:
                return
        raise ResponseNotFound(f"Response with id '{response_id}' not found.", response_id)

    def __contains__(self, response_id: object) -> bool:
        with self._lock:
            return response_id in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


# --------------------------------------------------------------------------------------------
# Request: Responses → chat completions


@dataclass(frozen=True)
class ResponsesTurn:
    """A checked Responses request: what to ask the chat engine, and what to answer with.

    ``history`` is the conversation without the ``instructions`` system message — what a
    follow-up response continues from. The remaining fields are echoed in the Response object.
    """

    response_id: str
    created_at: int
    model: str
    chat_request: Json
    history: list[Json]
    stream: bool
    store: bool
    instructions: str | None
    tools: list[Json]
    tool_choice: str | Json
    temperature: float | None
    top_p: float | None
    max_output_tokens: int | None
    text: Json
    previous_response_id: str | None
    metadata: dict[str, str]
    parallel_tool_calls: bool


def _inner(value: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``value[key]`` when it is an object (chat-completions nesting), else ``value`` itself."""
    inner = value.get(key)
    return inner if isinstance(inner, Mapping) else value


def _wrong_type(param: str, expected: str, value: object) -> ResponsesRequestError:
    got = json_kind(value)
    return ResponsesRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.", param
    )


def _missing(param: str) -> ResponsesRequestError:
    return ResponsesRequestError(f"Missing required parameter: '{param}'.", param)


def _content_text(content: object, param: str) -> str:
    """The text of a message's content: a string, or the text of its parts (images, files and
    other parts without text are skipped: the engine takes text only)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _wrong_type(param, "a string or an array of content parts", content)
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise _wrong_type(f"{param}[{index}]", "an object", part)
        kind = part.get("type")
        text = part.get("refusal") if kind == "refusal" else part.get("text")
        if (kind in _TEXT_PARTS or kind in (None, "refusal")) and isinstance(text, str):
            texts.append(text)
    # Joined without separators, as the chat-completions path does.
    return "".join(texts)


def _message(item: Mapping[str, Any], param: str) -> Json:
    role = item.get("role")
    if role is None:
        raise _missing(f"{param}.role")
    if role not in _ROLES:
        raise ResponsesRequestError(
            f"Invalid value for '{param}.role': {role!r}; expected one of "
            "'user', 'assistant', 'system' or 'developer'.",
            f"{param}.role",
        )
    return {"role": _ROLES[role], "content": _content_text(item.get("content"), f"{param}.content")}


def _required_str(item: Mapping[str, Any], key: str, param: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise _missing(param)
    if not isinstance(value, str):
        raise _wrong_type(param, "a string", value)
    return value


def _tool_call(item: Mapping[str, Any], param: str) -> Json:
    call_id = _required_str(item, "call_id", f"{param}.call_id")
    name = _required_str(item, "name", f"{param}.name")
    arguments = item.get("arguments")
    if isinstance(arguments, Mapping):
        arguments = json.dumps(arguments, ensure_ascii=False)
    elif arguments is not None and not isinstance(arguments, str):
        raise _wrong_type(f"{param}.arguments", "a string", arguments)
    # Chat templates parse the arguments as JSON: an empty string would not parse.
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments or "{}"},
    }


def _append_tool_call(messages: list[Json], call: Json) -> None:
    """A function call joins the assistant message just before it: text and calls made in one
    turn are one assistant message in chat form, as are parallel calls."""
    if messages and messages[-1]["role"] == "assistant":
        messages[-1].setdefault("tool_calls", []).append(call)
    else:
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})


def _tool_result(item: Mapping[str, Any], param: str) -> Json:
    name = item.get("name")
    if item.get("call_id") in (None, "") and isinstance(name, str) and name:
        # Codex adds context of its own as an output that names itself instead of a call.
        call_id = ""
    else:
        call_id = _required_str(item, "call_id", f"{param}.call_id")
    output = item.get("output")
    if output is not None and not isinstance(output, (str, list)):
        raise _wrong_type(f"{param}.output", "a string or an array of content parts", output)
    text = _content_text(output, f"{param}.output")
    message = {"role": "tool", "tool_call_id": call_id, "content": text}
    return message | ({"name": name} if not call_id else {})


def _items_to_messages(items: Sequence[object], param: str) -> list[Json]:
    """Responses items (input, or a response's output) as chat messages."""
    messages: list[Json] = []
    for index, item in enumerate(items):
        where = f"{param}[{index}]"
        if not isinstance(item, Mapping):
            raise _wrong_type(where, "an object", item)
        kind = item.get("type")
        if kind is not None and not isinstance(kind, str):
            raise _wrong_type(f"{where}.type", "a string", kind)
        if kind == "message" or kind is None:
            messages.append(_message(item, where))
        elif kind == "function_call":
            _append_tool_call(messages, _tool_call(item, where))
        elif kind == "function_call_output":
            messages.append(_tool_result(item, where))
        # Anything else (reasoning, item_reference, built-in tool calls …) has no chat form.
    return messages


def _input_messages(value: object) -> list[Json]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        return _items_to_messages(value, "input")
    raise _wrong_type("input", "a string or an array of input items", value)


def _function_tool(tool: Mapping[str, Any], param: str) -> Json:
    # Chat-completions style ({"type": "function", "function": {...}}) is accepted too.
    spec = _inner(tool, "function")
    name = _required_str(spec, "name", f"{param}.name")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise _wrong_type(f"{param}.description", "a string", description)
    parameters = spec.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise _wrong_type(f"{param}.parameters", "an object", parameters)
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _wrong_type(f"{param}.strict", "a boolean", strict)
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": dict(parameters) if parameters is not None else None,
        "strict": strict,
    }


def _function_tools(value: object) -> list[Json]:
    """The function tools of a request; built-in and other tool types are dropped."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong_type("tools", "an array", value)
    tools = []
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(tool, Mapping):
            raise _wrong_type(param, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise _missing(f"{param}.type")
        if not isinstance(kind, str):
            raise _wrong_type(f"{param}.type", "a string", kind)
        if kind == "function":
            tools.append(_function_tool(tool, param))
    return tools


def _chat_tool(tool: Json) -> Json:
    function: Json = {"name": tool["name"]}
    if tool["description"] is not None:
        function["description"] = tool["description"]
    function["parameters"] = tool["parameters"] or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _tool_choice(value: object, tools: list[Json]) -> str | Json:
    """The echoed tool choice: an option, or ``{"type": "function", "name"}``. A choice of a
    tool type this server ignores (web search …) becomes ``"auto"``."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise ResponsesRequestError(
                f"Invalid value for 'tool_choice': {value!r}; expected 'auto', 'none', "
                "'required' or an object.",
                "tool_choice",
            )
        return value
    if not isinstance(value, Mapping):
        raise _wrong_type("tool_choice", "a string or an object", value)
    if value.get("type") != "function":
        return "auto"
    spec = _inner(value, "function")
    name = _required_str(spec, "name", "tool_choice.name")
    if name not in {tool["name"] for tool in tools}:
        raise ResponsesRequestError(
            f"Invalid value for 'tool_choice': function {name!r} is not among the tools.",
            "tool_choice",
        )
    return {"type": "function", "name": name}


def _chat_tool_choice(choice: str | Json) -> str | Json:
    if isinstance(choice, str):
        return choice
    return {"type": "function", "function": {"name": choice["name"]}}


def _text_format(value: object) -> tuple[Json, Json | None]:
    """The echoed ``text`` config and the chat ``response_format`` it asks for."""
    if value is None:
        return {"format": {"type": "text"}}, None
    if not isinstance(value, Mapping):
        raise _wrong_type("text", "an object", value)
    echo: Json = {}
    verbosity = value.get("verbosity")
    if verbosity in _VERBOSITY:
        echo["verbosity"] = verbosity
    spec = value.get("format")
    if spec is None:
        return {"format": {"type": "text"}, **echo}, None
    if not isinstance(spec, Mapping):
        raise _wrong_type("text.format", "an object", spec)
    kind = spec.get("type")
    if kind == "text":
        return {"format": {"type": "text"}, **echo}, None
    if kind == "json_object":
        return {"format": {"type": "json_object"}, **echo}, {"type": "json_object"}
    if kind != "json_schema":
        raise ResponsesRequestError(
            f"Invalid value for 'text.format.type': {kind!r}; expected 'text', 'json_object' "
            "or 'json_schema'.",
            "text.format.type",
        )
    return _json_schema_format(spec, echo)


def _json_schema_format(spec: Mapping[str, Any], echo: Json) -> tuple[Json, Json]:
    schema = spec.get("schema")
    if schema is None:
        raise _missing("text.format.schema")
    if not isinstance(schema, Mapping):
        raise _wrong_type("text.format.schema", "an object", schema)
    name = spec.get("name")
    if name is None:
        name = "response"  # OpenAI requires a name; it only labels the schema
    elif not isinstance(name, str):
        raise _wrong_type("text.format.name", "a string", name)
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _wrong_type("text.format.strict", "a boolean", strict)
    fmt: Json = {"type": "json_schema", "name": name, "schema": dict(schema), "strict": strict}
    if isinstance(spec.get("description"), str):
        fmt["description"] = spec["description"]
    chat = {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(schema), "strict": bool(strict)},
    }
    return {"format": fmt, **echo}, chat


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong_type(name, "a number", value)
    if not low <= value <= high:
        raise ResponsesRequestError(
            f"Invalid value for '{name}': {value} is not between {low} and {high}.", name
        )
    return float(value)


def _max_output_tokens(body: Mapping[str, Any]) -> int | None:
    value = body.get("max_output_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type("max_output_tokens", "an integer", value)
    if value < 1:
        raise ResponsesRequestError(
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            "max_output_tokens",
        )
    return value


def _flag(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong_type(name, "a boolean", value)
    return value


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _wrong_type(name, "a string", value)
    return value


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong_type("metadata", "an object", value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise _wrong_type(f"metadata.{key}", "a string", item)
    return dict(value)


def _model(body: Mapping[str, Any], default_model: str | None) -> str:
    model = body.get("model")
    if model is None or model == "":
        if default_model:
            return default_model
        raise _missing("model")
    if not isinstance(model, str):
        raise _wrong_type("model", "a string", model)
    return model


def _previous_conversation(previous_id: str | None, store: ResponseStore) -> list[Json]:
    if previous_id is None:
        return []
    try:
        return store.get(previous_id).conversation
    except ResponseNotFound:
        raise ResponseNotFound(
            f"Previous response with id '{previous_id}' not found.",
            previous_id,
            "previous_response_id",
        ) from None


def to_chat(
    body: Mapping[str, Any], store: ResponseStore, *, default_model: str | None = None
) -> ResponsesTurn:
    """Check a Responses request and translate it into a chat-completions request.

    Raises :class:`ResponsesRequestError` (an ``InvalidArgument`` with ``param``) for a
    malformed request and :class:`ResponseNotFound` (a ``NotFound``) for an unknown
    ``previous_response_id``. ``default_model`` stands in for a missing ``model``.
    """
    if not isinstance(body, Mapping):
        raise _wrong_type("body", "an object", body)
    model = _model(body, default_model)
    previous_id = _optional_str(body, "previous_response_id")
    if "input" not in body or body["input"] is None:
        if previous_id is None:
            raise _missing("input")
        new_messages: list[Json] = []
    else:
        new_messages = _input_messages(body["input"])
    # Validate everything before the store is consulted: a bad field is the client's to fix
    # whether or not the previous response still exists.
    instructions = _optional_str(body, "instructions")
    tools = _function_tools(body.get("tools"))
    tool_choice = _tool_choice(body.get("tool_choice"), tools)
    text, response_format = _text_format(body.get("text"))
    temperature = _number(body, "temperature", 0.0, 2.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    max_output_tokens = _max_output_tokens(body)
    parallel_tool_calls = _flag(body, "parallel_tool_calls", True)
    stream = _flag(body, "stream", False)
    store_it = _flag(body, "store", True)
    metadata = _metadata(body.get("metadata"))

    history = _previous_conversation(previous_id, store) + new_messages
    if not history:
        raise ResponsesRequestError("'input' holds no message to respond to.", "input")
    messages = copy.deepcopy(history)
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    chat: Json = {
        "model": model,
        "messages": messages,
        "max_tokens": max_output_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stop": None,
        "response_format": response_format,
        "parallel_tool_calls": parallel_tool_calls,
    }
    if tools:  # an empty tools array is rejected by chat-completions servers
        chat["tools"] = [_chat_tool(tool) for tool in tools]
        chat["tool_choice"] = _chat_tool_choice(tool_choice)
    return ResponsesTurn(
        response_id=_new_id("resp_"),
        created_at=int(time.time()),
        model=model,
        chat_request=chat,
        history=history,
        stream=stream,
        store=store_it,
        instructions=instructions,
        tools=tools,
        tool_choice=tool_choice,
        temperature=temperature,
        top_p=top_p,
        max_output_tokens=max_output_tokens,
        text=text,
        previous_response_id=previous_id,
        metadata=metadata,
        parallel_tool_calls=parallel_tool_calls,
    )


# --------------------------------------------------------------------------------------------
# Response: chat chunks → Responses events and object


def _response_object(
    turn: ResponsesTurn,
    status: str,
    output: list[Json],
    *,
    usage: Json | None = None,
    error: Json | None = None,
    incomplete_reason: str | None = None,
) -> Json:
    return {
        "id": turn.response_id,
        "object": "response",
        "created_at": turn.created_at,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": turn.instructions,
        "max_output_tokens": turn.max_output_tokens,
        "model": turn.model,
        "output": output,
        "parallel_tool_calls": turn.parallel_tool_calls,
        "previous_response_id": turn.previous_response_id,
        "reasoning": None,
        "store": turn.store,
        "temperature": turn.temperature,
        "text": copy.deepcopy(turn.text),
        "tool_choice": copy.deepcopy(turn.tool_choice),
        "tools": copy.deepcopy(turn.tools),
        "top_p": turn.top_p,
        "truncation": "disabled",
        "usage": usage,
        "metadata": dict(turn.metadata),
        "background": False,
    }


def _count(source: object, key: str) -> int:
    value = source.get(key) if isinstance(source, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(chat_usage: Mapping[str, Any] | None) -> Json | None:
    if chat_usage is None:
        return None
    input_tokens = _count(chat_usage, "prompt_tokens")
    output_tokens = _count(chat_usage, "completion_tokens")
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": _count(chat_usage.get("prompt_tokens_details"), "cached_tokens"),
            "cache_write_tokens": 0,
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {
            "reasoning_tokens": _count(
                chat_usage.get("completion_tokens_details"), "reasoning_tokens"
            ),
        },
        "total_tokens": _count(chat_usage, "total_tokens") or input_tokens + output_tokens,
    }


def _error_code(error: AinosError) -> str:
    return "context_length_exceeded" if isinstance(error, ContextLengthExceeded) else "server_error"


@dataclass
class _TextItem:
    item_id: str
    output_index: int
    text: str = ""


@dataclass
class _CallItem:
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str = ""


class _ResponseBuilder:
    """Chunks in, events out. Output items are streamed one after another, as OpenAI does:
    an item is closed (its ``done`` events sent) when the next one begins or the stream ends."""

    def __init__(self, turn: ResponsesTurn) -> None:
        self._turn = turn
        self._sequence = 0
        self._output: list[Json] = []
        self._open: _TextItem | _CallItem | None = None
        self._calls: dict[int, _CallItem] = {}
        self._finish_reason: str | None = None
        self._usage: Mapping[str, Any] | None = None

    def _event(self, kind: str, **fields: Any) -> Json:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[Json]:
        return [
            self._event(kind, response=_response_object(self._turn, "in_progress", []))
            for kind in ("response.created", "response.in_progress")
        ]

    def still_in_progress(self) -> Json:
        """``response.in_progress`` again: the response goes on, nothing new to show yet."""
        output = list(self._output)
        return self._event(
            "response.in_progress", response=_response_object(self._turn, "in_progress", output)
        )

    def feed(self, chunk: Mapping[str, Any]) -> list[Json]:
        events: list[Json] = []
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self._usage = usage
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                events += self._text_delta(content)
            for call in delta.get("tool_calls") or ():
                events += self._call_delta(call)
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
        return events

    def _text_delta(self, content: str) -> list[Json]:
        events: list[Json] = []
        item = self._open
        if not isinstance(item, _TextItem):
            events += self._close("completed")
            item = self._open = _TextItem(_new_id("msg_"), len(self._output))
            events.append(self._event("response.output_item.added", **self._text_added(item)))
            events.append(
                self._event("response.content_part.added", **self._part(item, _text_part("")))
            )
        item.text += content
        events.append(
            self._event(
                "response.output_text.delta",
                item_id=item.item_id,
                output_index=item.output_index,
                content_index=0,
                delta=content,
                logprobs=[],
            )
        )
        return events

    def _text_added(self, item: _TextItem) -> Json:
        message = _message_item(item, "in_progress")
        message["content"] = []
        return {"output_index": item.output_index, "item": message}

    def _part(self, item: _TextItem, part: Json) -> Json:
        return {
            "item_id": item.item_id,
            "output_index": item.output_index,
            "content_index": 0,
            "part": part,
        }

    def _call_index(self, call: Mapping[str, Any]) -> int:
        index = call.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        # No index: a new id starts a new call, anything else continues the latest one.
        known_ids = {item.call_id for item in self._calls.values()}
        if not self._calls or (call.get("id") and call["id"] not in known_ids):
            return max(self._calls, default=-1) + 1
        return max(self._calls)

    def _call_delta(self, call: Mapping[str, Any]) -> list[Json]:
        events: list[Json] = []
        index = self._call_index(call)
        function = call.get("function") or {}
        name = function.get("name") or ""
        arguments = function.get("arguments") or ""
        item = self._calls.get(index)
        if item is None:
            events += self._close("completed")
            item = _CallItem(
                _new_id("fc_"), len(self._output), call.get("id") or _new_id("call_"), name
            )
            self._calls[index] = item
            self._open = item
            added = {"output_index": item.output_index, "item": _call_item(item, "in_progress")}
            events.append(self._event("response.output_item.added", **added))
        elif item is not self._open:
            # Items are sent one after another; a finished call cannot take more arguments.
            raise AinosError(f"the engine sent more of tool call {index} after it had ended")
        else:
            item.name += name
        if arguments:
            item.arguments += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    delta=arguments,
                )
            )
        return events

    def _close(self, status: str) -> list[Json]:
        item, self._open = self._open, None
        if item is None:
            return []
        if isinstance(item, _TextItem):
            events = [
                self._event(
                    "response.output_text.done",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    content_index=0,
                    text=item.text,
                    logprobs=[],
                ),
                self._event(
                    "response.content_part.done", **self._part(item, _text_part(item.text))
                ),
            ]
            done = _message_item(item, status)
        else:
            events = [
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    arguments=item.arguments,
                )
            ]
            done = _call_item(item, status)
        self._output.append(done)
        events.append(
            self._event(
                "response.output_item.done",
                output_index=item.output_index,
                item=copy.deepcopy(done),
            )
        )
        return events

    def finish(self) -> list[Json]:
        """The closing events; the last is ``response.completed`` or ``response.incomplete``."""
        reason = _INCOMPLETE.get(self._finish_reason or "")
        status = "incomplete" if reason else "completed"
        events = self._close(status)
        response = _response_object(
            self._turn,
            status,
            list(self._output),
            usage=_usage(self._usage),
            incomplete_reason=reason,
        )
        events.append(self._event(f"response.{status}", response=response))
        return events

    def fail(self, error: AinosError) -> Json:
        """``response.failed``: the items already finished stay, a half-made one is dropped."""
        self._open = None
        error_object = {"code": _error_code(error), "message": str(error)}
        response = _response_object(
            self._turn, "failed", list(self._output), usage=_usage(self._usage), error=error_object
        )
        return self._event("response.failed", response=response)


def _text_part(text: str) -> Json:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item: _TextItem, status: str) -> Json:
    return {
        "id": item.item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [_text_part(item.text)],
    }


def _call_item(item: _CallItem, status: str) -> Json:
    return {
        "id": item.item_id,
        "type": "function_call",
        "status": status,
        "call_id": item.call_id,
        "name": item.name,
        "arguments": item.arguments,
    }


def _remember(store: ResponseStore, turn: ResponsesTurn, response: Json) -> None:
    if turn.store:
        output_messages = _items_to_messages(response["output"], "output")
        store.put(turn.response_id, turn.history, output_messages, response)


async def _close_chunks(chunks: AsyncIterator[Mapping[str, Any]]) -> None:
    """Close the engine's stream early (client gone, error), so generation stops."""
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


async def stream_events(
    turn: ResponsesTurn,
    chunks: AsyncIterator[Mapping[str, Any]],
    store: ResponseStore,
    keepalive_s: float | None = None,
) -> AsyncGenerator[Json, None]:
    """The Responses streaming events for one turn, ``sequence_number`` 0, 1, 2 …

    After each ``keepalive_s`` seconds without an event (a tool call is held until whole),
    ``response.in_progress`` is sent again, so clients that time out a silent stream wait.

    An :class:`AinosError` from ``chunks`` ends the stream with ``response.failed`` (its
    ``error.code`` is ``context_length_exceeded`` or ``server_error``); it is not re-raised.
    The response is stored (unless ``store: false``) before its final event is yielded, so a
    client may chain on it as soon as it sees that event.
    """
    builder = _ResponseBuilder(turn)
    try:
        for event in builder.start():
            yield event
        try:
            async for chunk in with_ticks(chunks, keepalive_s):
                if chunk is None:  # silence: tell the client the response is still coming
                    yield builder.still_in_progress()
                    continue
                for event in builder.feed(chunk):
                    yield event
            closing = builder.finish()
        except AinosError as error:
            closing = [builder.fail(error)]
        _remember(store, turn, closing[-1]["response"])
        for event in closing:
            yield event
    finally:
        await _close_chunks(chunks)


async def collect_response(
    turn: ResponsesTurn, chunks: AsyncIterator[Mapping[str, Any]], store: ResponseStore
) -> Json:
    """The finished Response object (status ``completed`` or ``incomplete``); errors from
    ``chunks`` propagate, and nothing is stored then."""
    builder = _ResponseBuilder(turn)
    try:
        async for chunk in chunks:
            builder.feed(chunk)
    finally:
        await _close_chunks(chunks)
    response: Json = builder.finish()[-1]["response"]
    _remember(store, turn, response)
    return response
