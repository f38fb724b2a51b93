"""The model seam: the one method the agent loop needs of any model provider.

Messages are OpenAI chat-completions dicts (``role``, ``content``, ``tool_calls``,
``tool_call_id``): the lingua franca of local engines and remote APIs alike, and what the
conversation store keeps, so a resumed thread replays on any provider.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ainos.protocol.agent import Usage

__all__ = [
    "Message",
    "Model",
    "ModelReply",
    "ModelRequest",
    "ModelTraits",
    "TextSink",
    "ToolCall",
    "ToolSpec",
    "new_call_id",
]

Message = dict[str, Any]
TextSink = Callable[[str], None]  # gets each piece of reply text as it is generated


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True)
class ToolSpec:
    """A tool as a model sees it: a name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def openai_function(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: Mapping[str, Any]

    def openai(self) -> dict[str, Any]:
        """The call as an assistant message's ``tool_calls`` entry."""
        return {
            "id": self.call_id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(dict(self.arguments))},
        }


@dataclass(frozen=True)
class ModelRequest:
    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    tool_choice: Literal["auto", "none", "required"] = "auto"
    output_schema: Mapping[str, Any] | None = None  # the reply must be JSON valid against it
    max_output_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class ModelReply:
    """One model response: text, or tool calls, or both (native providers may mix them)."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"  # stop | length | tool_calls | repetition

    def assistant_message(self) -> Message:
        message: Message = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [call.openai() for call in self.tool_calls]
        return message


@dataclass(frozen=True)
class ModelTraits:
    """What the loop should expect of a provider. ``small``: a model that cannot be trusted
    to plan (the embedded 135M one) — the agent runs deterministic tools first and asks it
    only to explain their results."""

    native_tools: bool = True
    small: bool = False
    context_tokens: int | None = None


class Model(Protocol):
    """A provider of replies. ``complete`` raises ``AinosError`` subclasses on failure
    (``ModelError``, ``ContextLengthExceeded`` …), never a bare transport exception."""

    @property
    def name(self) -> str:
        """The model's id, as events and conversations record it."""
        ...

    @property
    def traits(self) -> ModelTraits: ...

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply: ...
