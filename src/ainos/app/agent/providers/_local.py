"""The on-device model, in this process: ``ai.ml``'s :class:`LlmService` on the scheduler.

The embedded models have no tool format of their own, so tool calls are constrained output
(``prepare_chat``'s tool plan: the reply must be ``{"tool_calls": [...]}`` or
``{"content": ...}``), checked against the tools and repaired once when wrong. A text answer
streams to ``on_text`` as its JSON string comes in; tool-call JSON never does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ainos.app.agent._model import (
    ModelReply,
    ModelRequest,
    ModelTraits,
    TextSink,
    ToolSpec,
)
from ainos.app.agent.providers._toolcalls import (
    Attempt,
    RawCall,
    complete_with_repair,
    read_calls,
)
from ainos.app.agent.providers._traits import is_small_model, model_parameters
from ainos.app.agent.providers._usage import chat_usage
from ainos.protocol.agent import Usage
from ainos.protocol.scheduler import ClientIdentity, Priority

if TYPE_CHECKING:
    from ainos.ai.ml.llm import ChatCall, LlmService

__all__ = ["LocalModel", "read_constrained"]

_REPLY_CALLS = (
    'JSON only, either {"tool_calls": [{"name": "<one of the tools>", "arguments": {...}}]} '
    "with every required argument of that tool, or "
)
_REPLY_TEXT = '{"content": "<your answer>"}.'
_REPLY_JSON = "your answer as JSON matching the schema given."
_CALLS_START = re.compile(r'\s*\{\s*"tool_calls"')
_UNDECIDED = 24  # characters after which an output that is no {"content" answer is not one


@dataclass(frozen=True)
class _Output:
    text: str
    finish_reason: str
    usage: Usage


class _AnswerStream:
    """Constrained output in, the text of a ``{"content": "..."}`` answer out, as it comes."""

    def __init__(self, on_text: TextSink) -> None:
        from ainos.ai.ml.llm import answer_prefix

        self._prefix = answer_prefix
        self._on_text = on_text
        self._held = ""
        self._sent = 0
        self._off = False

    def __call__(self, piece: str) -> None:
        if self._off:
            return
        self._held += piece
        text = self._prefix(self._held)
        if text is None:
            self._off = len(self._held.strip()) >= _UNDECIDED  # tool calls, or another shape
            return
        if len(text) > self._sent:
            self._on_text(text[self._sent :])
            self._sent = len(text)


def read_constrained(
    output: str,
    finish_reason: str,
    usage: Usage,
    tools: Sequence[ToolSpec],
    *,
    json_answer: bool = False,
) -> Attempt:
    """A constrained output read as the tool plan asked: tool calls checked against
    ``tools``, or the answer (``{"content": ...}``, or with ``json_answer`` a JSON document)."""
    from ainos.ai.ml.llm import answer_prefix

    try:
        document = json.loads(output)
    except json.JSONDecodeError as exc:
        if not _CALLS_START.match(output):
            # An answer cut short (the token limit, a loop stopped): what came of it.
            text = output if json_answer else answer_prefix(output)
            if text is not None:
                return Attempt(ModelReply(text=text, usage=usage, finish_reason=finish_reason))
        cut = "it was cut off at the token limit" if finish_reason == "length" else exc.msg
        return Attempt(
            ModelReply(usage=usage), (f"the reply is not complete JSON ({cut})",), output
        )
    if isinstance(document, dict) and "tool_calls" in document:
        entries = document["tool_calls"]
        if not isinstance(entries, list) or not entries:
            problem = "tool_calls must be a non-empty array"
            return Attempt(ModelReply(usage=usage), (problem,), output)
        raw = [
            RawCall(str(entry.get("name", "")), entry.get("arguments", {}))
            if isinstance(entry, dict)
            else RawCall("", entry)
            for entry in entries
        ]
        calls, problems = read_calls(raw, tools)
        if problems:
            return Attempt(ModelReply(usage=usage), problems, output)
        return Attempt(ModelReply(tool_calls=calls, usage=usage, finish_reason="tool_calls"))
    if json_answer:
        return Attempt(ModelReply(text=output.strip(), usage=usage, finish_reason=finish_reason))
    if isinstance(document, dict) and isinstance(document.get("content"), str):
        return Attempt(
            ModelReply(text=document["content"], usage=usage, finish_reason=finish_reason)
        )
    problem = 'the reply is neither {"tool_calls": [...]} nor {"content": "..."}'
    return Attempt(ModelReply(usage=usage), (problem,), output)


class LocalModel:
    """A model of ``service`` (loaded on first use), generating as ``client`` in the
    ``priority`` class, each generation failed past ``deadline_ms`` when given."""

    def __init__(
        self,
        service: LlmService,
        alias: str,
        *,
        client: ClientIdentity | None = None,
        priority: Priority = Priority.INTERACTIVE,
        deadline_ms: float | None = None,
        small: bool | None = None,
    ) -> None:
        self._service = service
        self._alias = alias
        self._client = client or ClientIdentity(name="ainos-agent")
        self._priority = priority
        self._deadline_ms = deadline_ms
        self._small = small
        self._traits: ModelTraits | None = None

    @property
    def name(self) -> str:
        return self._alias

    @property
    def traits(self) -> ModelTraits:
        """No native tools; small per :func:`is_small_model` unless told; the engine's window
        (reading it loads the model)."""
        if self._traits is None:
            small = self._small
            if small is None:
                path = self._service.entry(self._alias).path
                small = is_small_model(self._alias, model_parameters(path))
            context = self._service.engine(self._alias).context_tokens
            self._traits = ModelTraits(native_tools=False, small=small, context_tokens=context)
        return self._traits

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        if not request.tools or request.tool_choice == "none":
            return self._attempt(request, on_text).reply
        how = _REPLY_CALLS + (_REPLY_TEXT if request.output_schema is None else _REPLY_JSON)
        return complete_with_repair(request, lambda r: self._attempt(r, on_text), how)

    def _attempt(self, request: ModelRequest, on_text: TextSink | None) -> Attempt:
        from ainos.ai.ml.llm import prepare_chat

        call = prepare_chat(_body(self._alias, request), self._alias)
        if call.tools is None:
            output = self._generate(call, on_text)
            reply = ModelReply(output.text, usage=output.usage, finish_reason=output.finish_reason)
            return Attempt(reply)
        streamer = _AnswerStream(on_text) if on_text is not None else None
        output = self._generate(call, streamer)
        attempt = read_constrained(
            output.text,
            output.finish_reason,
            output.usage,
            request.tools,
            json_answer=call.tools.json_answer,
        )
        if on_text is not None and call.tools.json_answer and attempt.reply.text:
            on_text(attempt.reply.text)  # a JSON answer means something only whole
        return attempt

    def _generate(self, call: ChatCall, on_piece: Callable[[str], None] | None) -> _Output:
        from ainos.ai.ml.llm import Reply

        generation = self._service.generate(
            self._alias,
            call.engine_request,
            kind="chat",
            client=self._client,
            priority=self._priority,
            deadline_ms=self._deadline_ms,
        )
        reply = Reply()
        for chunk in generation:
            piece = reply.read(chunk)
            if piece and on_piece is not None:
                on_piece(piece)
        # A loop the repetition guard stopped is told apart from a natural end.
        finish = "repetition" if reply.stopped == "repetition" else reply.finish_reason
        return _Output(reply.text, finish or "stop", chat_usage(reply.usage))


def _body(alias: str, request: ModelRequest) -> dict[str, Any]:
    """The chat-completions request for ``prepare_chat``."""
    body: dict[str, Any] = {"model": alias, "messages": [dict(m) for m in request.messages]}
    if request.max_output_tokens is not None:
        body["max_tokens"] = request.max_output_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.tools and request.tool_choice != "none":
        body["tools"] = [tool.openai_function() for tool in request.tools]
        body["tool_choice"] = request.tool_choice
    if request.output_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": dict(request.output_schema)},
        }
    return body
