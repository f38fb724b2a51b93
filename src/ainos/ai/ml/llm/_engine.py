"""The LLM engine interface: what ainos needs of an engine, so another can replace llama.cpp.

Requests and stream chunks use OpenAI's chat-completions shapes, the lingua franca of local
engines: a chunk is a ``chat.completion.chunk`` dict, and the callback given each one returns
True to stop the generation (the client went away, or the job was cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ChunkSink", "EngineSettings", "LlmEngine"]

ChunkSink = Callable[[dict[str, Any]], bool]  # gets each chunk; True: stop generating


@dataclass(frozen=True)
class EngineSettings:
    """How an engine is loaded. ``context_tokens``: the window every sequence may fill (None:
    the model's trained window); ``parallel``: sequences decoded together; ``threads`` None:
    one per physical core; ``gpu_layers`` None: all layers on a GPU when one exists, else 0."""

    context_tokens: int | None = None
    parallel: int = 4
    threads: int | None = None
    gpu_layers: int | None = None


class LlmEngine(Protocol):
    @property
    def context_tokens(self) -> int:
        """The window of one sequence, in tokens."""
        ...

    @property
    def parallel(self) -> int: ...

    @property
    def device(self) -> str:
        """Where it computes: ``cpu`` or a GPU's name."""
        ...

    @property
    def load_note(self) -> str | None:
        """What the load had to give up to fit in memory (fewer sequences, a shorter window)."""
        ...

    def chat(self, request: Mapping[str, Any], sink: ChunkSink) -> None:
        """Generate a reply to chat messages, streaming chunks into ``sink``.

        Raises ``ContextLengthExceeded`` when the prompt does not fit, ``InvalidArgument`` for a
        request the engine refuses, ``ModelError`` for an engine failure.
        """
        ...

    def complete(self, request: Mapping[str, Any], sink: ChunkSink) -> None:
        """Continue a raw prompt (``{"prompt": str, ...}``); chunks as in :meth:`chat`."""
        ...

    def tokenize(self, text: str) -> list[int]: ...

    def schema_grammar(self, schema: Mapping[str, Any]) -> str:
        """The grammar that constrains output to JSON matching ``schema``."""
        ...

    def close(self) -> None: ...
