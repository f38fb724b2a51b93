"""The local-LLM summariser behind ``Ainos.SummarizeText``'s seam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ainos.ai.actions.builtin import ExtractiveSummarizer, Summarizer
from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import LlmService, LlmSummarizer

_TEXT = (
    "Solar panels convert sunlight into electricity. They are made of silicon cells. "
    "Panels on a roof can power a house on a sunny day. Batteries store what is not used. "
    "At night the house draws on the batteries or the grid."
)


class _Marked:
    """A fallback that says it ran, to tell the two paths apart."""

    async def summarize(self, text: str, max_sentences: int) -> AsyncIterator[str]:
        yield "fallback"


async def _collect(summarizer: Summarizer, text: str) -> str:
    return "".join([piece async for piece in summarizer.summarize(text, 2)])


def test_summarises_with_the_loaded_model(llm_service: LlmService) -> None:
    summarizer = LlmSummarizer(llm_service, DEFAULT_CHAT_MODEL, _Marked())
    assert summarizer.model_loaded
    summary = asyncio.run(_collect(summarizer, _TEXT))
    assert summary.strip()
    assert summary != "fallback"


def test_falls_back_when_the_model_is_not_loaded(llm_service: LlmService) -> None:
    summarizer = LlmSummarizer(llm_service, "no-such-model", ExtractiveSummarizer())
    assert not summarizer.model_loaded
    summary = asyncio.run(_collect(summarizer, _TEXT))
    extractive = asyncio.run(_collect(ExtractiveSummarizer(), _TEXT))
    assert summary == extractive
