"""OpenAI chat requests and replies in one place: the body of a chat-completions request,
and a reply read from its chunks (``chat.completion.chunk`` dicts, or the engine's raw
``text`` completion chunks) — text, finish reason and usage — whether the chunks came from
this process's engine or the daemon's server-sent events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STOPPED_FIELD", "Reply", "chat_body", "chunk_text", "streamed_body"]

# Set to "repetition" on the finishing chunk of a generation the repetition guard stopped
# (an ainos extension: the OpenAI chunks built from the engine's do not carry it).
STOPPED_FIELD = "ainos_stopped"


def chat_body(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    stream: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A chat-completions request; a streamed one asks for the usage in its last chunk
    (``stream_options.include_usage``), which every reader here relies on."""
    body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages], **fields}
    return streamed_body(body) if stream else body


def streamed_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The same request, streamed, its usage in the last chunk."""
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


def chunk_text(chunk: Mapping[str, Any]) -> str:
    """The text a chunk adds: chat's ``delta.content`` or a completion's ``text``."""
    return "".join(
        (choice.get("delta") or {}).get("content") or choice.get("text") or ""
        for choice in chunk.get("choices") or ()
    )


@dataclass
class Reply:
    """A reply as its chunks are read (:meth:`read` each one, in order).

    ``finish_reason`` is the last one a chunk gave; ``stopped`` why ainos stopped the
    generation itself (``"repetition"``: the repetition guard caught a loop, which the
    chunks report as an ordinary finish); ``usage`` is the usage as sent (the engine's or the
    API's); ``chunks`` keeps every chunk when ``keep_chunks`` is set.
    """

    keep_chunks: bool = False
    pieces: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    stopped: str | None = None
    usage: Mapping[str, Any] | None = None
    chunks: list[Mapping[str, Any]] = field(default_factory=list)

    def read(self, chunk: Mapping[str, Any]) -> str:
        """Take in one chunk; the text it adds ("" when none)."""
        if self.keep_chunks:
            self.chunks.append(chunk)
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = usage
        stopped = chunk.get(STOPPED_FIELD)
        if stopped:
            self.stopped = str(stopped)
        for choice in chunk.get("choices") or ():
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        piece = chunk_text(chunk)
        if piece:
            self.pieces.append(piece)
        return piece

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int | None:
        if self.usage is None:
            return None
        return int(self.usage.get("completion_tokens", 0))
