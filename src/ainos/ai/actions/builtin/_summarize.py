"""Summarise text: an extractive summary, streamed sentence by sentence.

The summariser is a seam: anything with ``summarize(text, max_sentences)`` yielding pieces
of the summary can replace the extractive one (the local LLM, once the ML layer serves it),
through ``set_default_summarizer`` or the provider's constructor.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import ClassVar, Protocol

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._kinds import ActionEntityTextFormat
from ainos.ai.actions._provider import ActionProvider
from ainos.ai.actions.builtin._common import text_input

__all__ = [
    "ExtractiveSummarizer",
    "SummarizeTextProvider",
    "Summarizer",
    "default_summarizer",
    "set_default_summarizer",
    "split_sentences",
]

_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'\u201d\u2019)\]]*\s+|\n\s*\n")
_FENCED_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
# Markdown structure: headings, table rows and rules are dropped; list items and quotes kept.
_STRUCTURE = re.compile(r"(?:#{1,6}\s|\||-{3,}|={3,})|(?P<item>(?:[-*+]|\d+[.)]|>)\s+)")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "mr.", "mrs.", "ms.", "dr.", "prof.", "etc.", "vs.", "no.", "fig."}
)
# Common English function words: they say little about what a text is about.
_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    also may might must shall us"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class Summarizer(Protocol):
    def summarize(self, text: str, max_sentences: int) -> AsyncIterator[str]:
        """Pieces of the summary, in reading order; joined they are the summary."""
        ...


def _blocks(text: str) -> Iterator[str]:
    """Runs of prose: paragraphs and list items; code, headings and table rows left out."""
    text = _FENCED_CODE.sub("\n", text)
    paragraph: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        structural = _STRUCTURE.match(stripped)
        if stripped and structural is None:
            paragraph.append(stripped)
            continue
        if paragraph:
            yield " ".join(paragraph)
        # A list item starts a paragraph of its own; its wrapped lines continue it.
        item = structural is not None and structural.group("item")
        paragraph = [stripped[structural.end() :]] if item and structural else []
    if paragraph:
        yield " ".join(paragraph)


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for block in _blocks(text):
        start = len(sentences)
        for piece in _BOUNDARY.split(block):
            if not piece.strip():
                continue
            last = sentences[-1].split()[-1].lower() if len(sentences) > start else ""
            if last in _ABBREVIATIONS:
                sentences[-1] = f"{sentences[-1]} {piece.strip()}"
            else:
                sentences.append(" ".join(piece.split()))
    return sentences


def _content_words(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence.lower()) if w not in _STOPWORDS and not w.isdigit()]


class ExtractiveSummarizer:
    """Picks the sentences whose words are most frequent across the text (Luhn's idea).

    A sentence scores the mean normalised frequency of its content words; the opening
    sentence gets a small bonus, as it usually states the subject.
    """

    async def summarize(self, text: str, max_sentences: int) -> AsyncIterator[str]:
        sentences = split_sentences(text)
        if len(sentences) <= max_sentences:
            chosen = list(range(len(sentences)))
        else:
            words = [_content_words(s) for s in sentences]
            counts = Counter(w for ws in words for w in ws)
            top = max(counts.values(), default=1)
            scores = []
            for index, ws in enumerate(words):
                score = sum(counts[w] / top for w in ws) / math.sqrt(len(ws)) if ws else 0.0
                scores.append(score + (0.15 if index == 0 else 0.0))
            ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
            chosen = sorted(ranked[:max_sentences])
        for position, index in enumerate(chosen):
            yield ("" if position == 0 else " ") + sentences[index]


_default: Summarizer = ExtractiveSummarizer()


def default_summarizer() -> Summarizer:
    return _default


def set_default_summarizer(summarizer: Summarizer) -> None:
    global _default
    _default = summarizer


def sentence_budget(text: str) -> int:
    """About a fifth of the sentences, between one and seven."""
    return max(1, min(7, round(len(split_sentences(text)) / 5)))


class SummarizeTextProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "summarize_text.json"

    def __init__(self, summarizer: Summarizer | None = None) -> None:
        self._summarizer = summarizer

    async def invoke(self, context: ActionInvocationContext) -> None:
        text, _ = text_input(context, "Text", "Document")
        summarizer = self._summarizer or default_summarizer()
        writer = context.entity_factory.create_streaming_text_action_entity_writer(
            ActionEntityTextFormat.PLAIN
        )
        context.set_output_entity("Summary", writer.reader_entity)
        summary = ""
        with writer:
            async for piece in summarizer.summarize(text, sentence_budget(text)):
                summary += piece
                writer.set_text(summary)
                await asyncio.sleep(0)  # let readers see each sentence as it arrives
