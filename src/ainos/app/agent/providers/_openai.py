"""Any OpenAI-compatible endpoint, through the official ``openai`` SDK: Chat Completions
(``wire_api="chat"``) or the Responses API (``"responses"``), native tool calls, streamed.

The SDK is imported on first use, so commands that never reach a remote model start fast.
Transport and API failures become one-line ainos errors: ``ModelError`` (cannot reach it,
refused key, server failure), ``ModelNotFound`` (404), ``ContextLengthExceeded``,
``QueueFull`` (429).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ainos.app.agent._model import Message, ModelReply, ModelRequest, ModelTraits, TextSink
from ainos.app.agent.providers._toolcalls import (
    Attempt,
    RawCall,
    complete_with_repair,
    read_calls,
)
from ainos.app.agent.providers._usage import chat_usage, responses_usage
from ainos.errors import (
    AinosError,
    ContextLengthExceeded,
    InvalidArgument,
    ModelError,
    ModelNotFound,
    QueueFull,
)
from ainos.protocol.agent import Usage

__all__ = ["OPENAI_BASE_URL", "OpenAIModel", "WireApi", "responses_input"]

WireApi = Literal["chat", "responses"]
OPENAI_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "unused"  # local servers want no key; the SDK insists on one
_REPLY_HOW = "call one of the tools with arguments matching its parameters, or answer in text."
_CONTEXT_WORDS = ("context length", "context_length", "context window", "maximum context")


@dataclass
class _Collected:
    """What one streamed reply brought."""

    texts: list[str] = field(default_factory=list)
    calls: list[RawCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)

    @property
    def text(self) -> str:
        return "".join(self.texts)


@functools.cache
def _http_client_class() -> Any:
    """The SDK's HTTP client, closing its connections when collected (as the client the SDK
    makes for itself does): a model dropped without :meth:`OpenAIModel.close` leaks none."""
    import openai

    class _HttpClient(openai.DefaultHttpxClient):
        def __del__(self) -> None:
            if not self.is_closed:
                with contextlib.suppress(Exception):
                    self.close()

    return _HttpClient


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(content: object) -> str:
    """A message's content as text (a string, or the text of its parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return str(content)


def responses_input(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """Chat messages as the Responses API's ``instructions`` (the leading system messages)
    and ``input`` items: messages, ``function_call`` and ``function_call_output`` items."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        content = _text(message.get("content"))
        if role in ("system", "developer"):
            if not items:
                instructions.append(content)
            else:
                items.append({"type": "message", "role": "developer", "content": content})
        elif role == "user":
            items.append({"type": "message", "role": "user", "content": content})
        elif role == "assistant":
            if content:
                items.append({"type": "message", "role": "assistant", "content": content})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": str(call.get("id") or ""),
                        "name": str(function.get("name") or ""),
                        "arguments": str(function.get("arguments") or "{}"),
                    }
                )
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": str(message.get("tool_call_id") or ""),
                    "output": content,
                }
            )
    joined = "\n\n".join(text for text in instructions if text)
    return joined or None, items


def _dict(value: object) -> dict[str, Any]:
    """An SDK object (a pydantic model) or a mapping, as a plain dict."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    return dict(dump()) if callable(dump) else {}


class OpenAIModel:
    """``model`` at an OpenAI-compatible ``base_url`` (default: OpenAI's own).

    ``api_key`` None sends a placeholder (local servers); ``api_key_env`` names the variable
    the key comes from, for the message of a refused key. ``headers`` and ``query_params`` go
    with every request. Proxies from the environment are used for remote hosts only.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        wire_api: WireApi = "chat",
        headers: Mapping[str, str] | None = None,
        query_params: Mapping[str, str] | None = None,
        api_key_env: str | None = None,
        traits: ModelTraits | None = None,
        timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 1,
    ) -> None:
        if wire_api not in ("chat", "responses"):
            raise InvalidArgument(f"wire_api must be 'chat' or 'responses', got {wire_api!r}")
        self._model = model
        self._base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self._api_key = api_key
        self._wire_api: WireApi = wire_api
        self._headers = dict(headers or {})
        self._query = dict(query_params or {})
        self._api_key_env = api_key_env
        self._traits = traits
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._max_retries = max_retries
        self._sdk_client: Any = None
        # OpenAI's own models want max_completion_tokens; other servers know max_tokens.
        host = urllib.parse.urlsplit(self._base_url).hostname or ""
        self._max_tokens_field = (
            "max_completion_tokens" if host.endswith("openai.com") else "max_tokens"
        )

    @property
    def name(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def traits(self) -> ModelTraits:
        """As given; else a capable model with native tools and an unknown window."""
        return self._traits or ModelTraits()

    def close(self) -> None:
        if self._sdk_client is not None:
            self._sdk_client.close()
            self._sdk_client = None

    def __enter__(self) -> OpenAIModel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _client(self) -> Any:
        if self._sdk_client is None:
            import openai

            timeout = openai.Timeout(self._timeout_s, connect=self._connect_timeout_s)
            self._sdk_client = openai.OpenAI(
                api_key=self._api_key or _NO_KEY,
                base_url=self._base_url,
                timeout=timeout,
                max_retries=self._max_retries,
                default_headers=self._headers or None,
                default_query=self._query or None,
                http_client=_http_client_class()(
                    timeout=timeout, trust_env=not _is_loopback(self._base_url)
                ),
            )
        return self._sdk_client

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        def attempt(asked: ModelRequest) -> Attempt:
            return self._attempt(asked, on_text)

        if request.tools and request.tool_choice != "none":
            return complete_with_repair(request, attempt, _REPLY_HOW)
        return attempt(request).reply

    def _attempt(self, request: ModelRequest, on_text: TextSink | None) -> Attempt:
        import openai

        stream = self._stream_chat if self._wire_api == "chat" else self._stream_responses
        try:
            got = stream(request, on_text or (lambda _text: None))
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        if not got.calls:
            return Attempt(ModelReply(got.text, usage=got.usage, finish_reason=got.finish_reason))
        calls, problems = read_calls(got.calls, request.tools)
        if problems:
            written = [{"name": c.name, "arguments": c.arguments} for c in got.calls]
            output = "\n".join(filter(None, [got.text, json.dumps({"tool_calls": written})]))
            return Attempt(ModelReply(got.text, usage=got.usage), problems, output)
        reply = ModelReply(got.text, calls, got.usage, finish_reason="tool_calls")
        return Attempt(reply)

    # -- Chat Completions --------------------------------------------------------------------

    def _chat_params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._model,
            "messages": [dict(message) for message in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:  # a tool_choice without tools is refused
            params["tools"] = [tool.openai_function() for tool in request.tools]
            params["tool_choice"] = request.tool_choice
        if request.max_output_tokens is not None:
            params[self._max_tokens_field] = request.max_output_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.output_schema is not None:
            spec = {"name": "output", "schema": dict(request.output_schema), "strict": True}
            params["response_format"] = {"type": "json_schema", "json_schema": spec}
        return params

    def _stream_chat(self, request: ModelRequest, on_text: Callable[[str], None]) -> _Collected:
        got = _Collected()
        calls: dict[int, dict[str, Any]] = {}
        with self._client().chat.completions.create(**self._chat_params(request)) as stream:
            for chunk in stream:
                if chunk.usage is not None:
                    got.usage = chat_usage(_dict(chunk.usage))
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None and delta.content:
                        got.texts.append(delta.content)
                        on_text(delta.content)
                    for part in (delta.tool_calls if delta is not None else None) or ():
                        entry = calls.setdefault(part.index, {"id": None, "name": "", "args": []})
                        entry["id"] = part.id or entry["id"]
                        if part.function is not None:
                            entry["name"] = entry["name"] or part.function.name or ""
                            entry["args"].append(part.function.arguments or "")
                    if choice.finish_reason:
                        got.finish_reason = str(choice.finish_reason)
        got.calls = [
            RawCall(entry["name"], "".join(entry["args"]), entry["id"])
            for _, entry in sorted(calls.items())
        ]
        if got.calls:
            got.finish_reason = "tool_calls"
        return got

    # -- Responses ---------------------------------------------------------------------------

    def _responses_params(self, request: ModelRequest) -> dict[str, Any]:
        instructions, items = responses_input(request.messages)
        params: dict[str, Any] = {
            "model": self._model,
            "input": items,
            "stream": True,
            "store": False,
        }
        if instructions:
            params["instructions"] = instructions
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                    "strict": False,
                }
                for tool in request.tools
            ]
            params["tool_choice"] = request.tool_choice
        if request.max_output_tokens is not None:
            params["max_output_tokens"] = request.max_output_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.output_schema is not None:
            params["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": "output",
                    "schema": dict(request.output_schema),
                    "strict": True,
                }
            }
        return params

    def _stream_responses(
        self, request: ModelRequest, on_text: Callable[[str], None]
    ) -> _Collected:
        got = _Collected()
        with self._client().responses.create(**self._responses_params(request)) as stream:
            for event in stream:
                kind = getattr(event, "type", "")
                if kind == "response.output_text.delta":
                    got.texts.append(event.delta)
                    on_text(event.delta)
                elif kind == "response.output_item.done":
                    item = event.item
                    if getattr(item, "type", "") == "function_call":
                        got.calls.append(RawCall(item.name, item.arguments or "{}", item.call_id))
                elif kind in ("response.completed", "response.incomplete"):
                    response = event.response
                    got.usage = responses_usage(_dict(response.usage))
                    reason = _dict(response.incomplete_details).get("reason")
                    if reason == "max_output_tokens":
                        got.finish_reason = "length"
                elif kind == "response.failed":
                    error = _dict(event.response.error)
                    raise self._failure(str(error.get("message")), error.get("code"))
                elif kind == "error":
                    raise self._failure(str(event.message), getattr(event, "code", None))
        if got.calls:
            got.finish_reason = "tool_calls"
        return got

    # -- errors ------------------------------------------------------------------------------

    def _failure(self, message: str, code: object) -> AinosError:
        """The error for a failure reported inside a stream."""
        message = " ".join(message.split())
        if code == "context_length_exceeded" or _about_context(message):
            return ContextLengthExceeded(message, prompt_tokens=None, context_tokens=None)
        return ModelError(f"{self._base_url} failed: {message}")

    def _error(self, exc: Exception) -> AinosError:
        """The ainos error for an exception of the SDK."""
        import openai

        url = self._base_url
        message = _message(exc)
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{url} did not answer within {self._timeout_s:g} s")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = " ".join(str(cause).split()) if cause is not None else message
            return ModelError(f"cannot reach {url}: {reason or message}")
        if isinstance(exc, openai.AuthenticationError):
            hint = (
                f"; set {self._api_key_env} to a valid key"
                if self._api_key_env
                else "; give the provider an API key"
            )
            return ModelError(f"{url} refused the API key (HTTP 401: {message}){hint}")
        if isinstance(exc, openai.NotFoundError):
            return ModelNotFound(f"{url} has no model {self._model!r} (HTTP 404: {message})")
        if isinstance(exc, openai.RateLimitError):
            return QueueFull(f"{url} is busy (HTTP 429: {message})")
        code = getattr(exc, "code", None)
        if isinstance(exc, openai.BadRequestError):
            if code == "context_length_exceeded" or _about_context(message):
                return ContextLengthExceeded(message, prompt_tokens=None, context_tokens=None)
            return ModelError(f"{url} refused the request (HTTP 400: {message})")
        if isinstance(exc, openai.APIStatusError):
            return ModelError(f"{url} failed (HTTP {exc.status_code}: {message})")
        return self._failure(message, code)


def _about_context(message: str) -> bool:
    lowered = message.lower()
    return any(words in lowered for words in _CONTEXT_WORDS)


def _message(exc: Exception) -> str:
    """The one-line message of an SDK error: the API's own where it sent one."""
    body = getattr(exc, "body", None)
    message: object = None
    if isinstance(body, Mapping):
        inner = body.get("error")
        message = (inner if isinstance(inner, Mapping) else body).get("message")
    if not isinstance(message, str) or not message:
        message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())
