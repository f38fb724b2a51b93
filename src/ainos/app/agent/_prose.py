"""Keeping a small model's prose honest: few sentences, no circles, no invented figures.

A 135M-parameter model explains a codebase in fluent sentences that drift: it repeats
itself in new words, makes up numbers and claims. The answer keeps its first sentences, drops
one that says again what an earlier one said, one with a figure that no tool produced, and one
whose words mostly appear nowhere in what the tools returned (a claim the model made up) —
the measured figures are quoted beside it anyway.
"""

from __future__ import annotations

import re

__all__ = ["tidy_explanation"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_WORD = re.compile(r"[a-z][a-z'-]+")
_SAME_SAYING = 0.6  # content-word overlap above which a sentence repeats an earlier one
_SUPPORTED = 0.6  # share of a sentence's longer words that the tools' output must contain
_STOP_WORDS = """a an and are as at be by for from has have in is it its of on or that the
this to was with which also very"""
_STOP = frozenset(_STOP_WORDS.split())


def _content(sentence: str) -> set[str]:
    return {w for w in _WORD.findall(sentence.lower()) if w not in _STOP}


def _grounded(sentence: str, grounding: str, vocabulary: set[str]) -> bool:
    if not all(number.replace(",", "") in grounding for number in _NUMBER.findall(sentence)):
        return False
    parts = {part for word in _content(sentence) for part in word.split("-")}
    words = [w for w in parts if len(w) > 3]
    return not words or sum(w in vocabulary for w in words) / len(words) >= _SUPPORTED


def tidy_explanation(text: str, grounding: str, *, max_sentences: int = 3) -> str:
    """The first ``max_sentences`` sentences of ``text`` that neither repeat an earlier one
    nor quote a number absent from ``grounding`` (the tools' output); the first paragraph
    only, since what follows a small model's first paragraph is mostly a second go at it."""
    paragraph = text.strip().split("\n\n", 1)[0].strip()
    plain_grounding = grounding.replace(",", "")
    vocabulary = set(_WORD.findall(grounding.lower()))
    kept: list[str] = []
    seen: list[set[str]] = []
    for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
        if len(kept) >= max_sentences:
            break
        words = _content(sentence)
        if not words or not _grounded(sentence, plain_grounding, vocabulary):
            continue
        if any(len(words & other) / len(words | other) > _SAME_SAYING for other in seen):
            continue
        if not sentence.endswith((".", "!", "?")):
            continue  # cut off by the token limit
        kept.append(sentence)
        seen.append(words)
    return " ".join(kept)
