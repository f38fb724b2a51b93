"""A summariser on the local LLM, for the ``Ainos.SummarizeText`` action's seam.

It summarises with the chat model only while that model is loaded (loading one just to
summarise would cost more than the summary is worth); otherwise — and if the generation
fails — the fallback (the extractive summariser) does the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from ainos.ai.ml.llm._reply import chunk_text
from ainos.ai.ml.llm._service import LlmService
from ainos.errors import AinosError
from ainos.protocol.scheduler import ClientIdentity, Priority

__all__ = ["LlmSummarizer"]

_MAX_INPUT_CHARS = 12_000  # about 3k tokens: room for the reply in a small model's window
_CLIENT = ClientIdentity(name="ainos-summarize")


class _Summarizer(Protocol):
    def summarize(self, text: str, max_sentences: int) -> AsyncIterator[str]: ...


class LlmSummarizer:
    def __init__(self, service: LlmService, model: str, fallback: _Summarizer) -> None:
        self._service = service
        self._model = model
        self._fallback = fallback

    @property
    def model_loaded(self) -> bool:
        return self._service.is_loaded(self._model)

    async def summarize(self, text: str, max_sentences: int) -> AsyncIterator[str]:
        if not self.model_loaded:
            async for piece in self._fallback.summarize(text, max_sentences):
                yield piece
            return
        request = {
            "messages": [
                {
                    "role": "system",
                    "content": "You summarise texts faithfully, in plain sentences, adding "
                    "nothing that the text does not say.",
                },
                {
                    "role": "user",
                    "content": f"Summarise this text in at most {max_sentences} sentences:\n\n"
                    + text[:_MAX_INPUT_CHARS],
                },
            ],
            "temperature": 0.2,
            "max_tokens": 60 * max_sentences,
        }
        produced = False
        try:
            generation = self._service.generate(
                self._model,
                request,
                client=_CLIENT,
                priority=Priority.BATCH,
                loop=asyncio.get_running_loop(),
            )
            async for chunk in generation:
                if piece := chunk_text(chunk):
                    produced = True
                    yield piece
        except AinosError:
            if produced:
                raise
        if not produced:
            async for piece in self._fallback.summarize(text, max_sentences):
                yield piece
