"""Count words (and characters, lines, sentences, paragraphs, reading time) in a text."""

from __future__ import annotations

import math
import re
from typing import ClassVar

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._provider import ActionProvider
from ainos.ai.actions.builtin._common import text_input
from ainos.ai.actions.builtin._summarize import split_sentences

__all__ = ["CountWordsProvider", "count_words"]

_WORDS_PER_MINUTE = 230
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")


def count_words(text: str) -> dict[str, int]:
    words = _WORD.findall(text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return {
        "Words": len(words),
        "Unique words": len({w.lower() for w in words}),
        "Characters": len(text),
        "Characters without spaces": sum(1 for c in text if not c.isspace()),
        "Lines": len(text.splitlines()),
        "Sentences": len(split_sentences(text)),
        "Paragraphs": len(paragraphs),
        "Reading time (minutes)": math.ceil(len(words) / _WORDS_PER_MINUTE) if words else 0,
    }


class CountWordsProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "count_words.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        text, label = text_input(context, "Text", "Document")
        counts = count_words(text)
        factory = context.entity_factory
        rows = [("Measure", "Value")] + [(name, str(value)) for name, value in counts.items()]
        context.set_output_entity("Counts", factory.create_table_entity_from_rows(rows))
        words = counts["Words"]
        summary = f"{words} word{'s' if words != 1 else ''} in {label}"
        context.set_output_entity("Summary", factory.create_text_entity(summary))
