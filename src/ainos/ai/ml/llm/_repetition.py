"""Keeping small models out of loops.

At temperature 0 a small model (the packaged 135M one) easily falls into a loop: "la femme au
martyre, la femme au martyre, …" until the token limit. Two defences:

* :class:`RepetitionDefaults` — llama.cpp's DRY sampler ("don't repeat yourself"), which
  penalises a token that would extend a sequence already seen. ``LlmService`` gives every chat
  generation of text (not constrained JSON, which is made of repeats)
  :func:`chat_defaults` for the fields its request leaves out: these values, or
  those of the model's catalog entry (``{"dry_multiplier": 0}`` there turns DRY off for a
  model that needs none). It ends most loops by itself.
* :class:`RepetitionGuard` — fed the streamed text, it trips when the tail of the output is
  one short unit repeated many times in a row: what DRY let through. ``LlmService`` then stops
  the generation and ends the stream: ``finish_reason`` ``"stop"`` for text, ``"length"`` for
  constrained JSON, which the stop leaves unfinished. It watches constrained output as any
  other: a string argument run into ``;;;;…`` or ``0000…`` trips it like prose does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHAT_REPETITION",
    "GUARD_FIELD",
    "GuardLimits",
    "RepetitionDefaults",
    "RepetitionGuard",
    "chat_defaults",
]

# The request field that switches the guard off for one generation (``false``); absent: on.
GUARD_FIELD = "ainos_repetition_guard"


@dataclass(frozen=True)
class RepetitionDefaults:
    """llama.cpp's DRY sampler settings for chat. Measured on SmolLM2-135M at temperature 0
    ("What is the capital of France?"): without DRY it loops to the token limit; with these it
    ends by itself after about 50 tokens, and replies that did not loop are unchanged.

    ``dry_penalty_last_n`` must be positive: 0 turns DRY off in llama.cpp (and -1, "the whole
    context", is refused by xllamacpp).
    """

    dry_multiplier: float = 0.8
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_penalty_last_n: int = 1024

    def fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# DRY for every chat generation whose request and model set none of it.
CHAT_REPETITION = RepetitionDefaults()


def chat_defaults(model_fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The repetition fields of a chat generation whose request leaves them out: the model's
    own (its catalog entry's, checked) over :data:`CHAT_REPETITION`."""
    return CHAT_REPETITION.fields() | dict(model_fields or {})


@dataclass(frozen=True)
class GuardLimits:
    """When the guard trips: the tail of the output has a period of ``unit`` characters
    (``1 <= unit <= max_unit``) and covers

    * ``repeats`` units when a unit is ``long_unit`` characters or more and holds a letter or
      digit (``"la femme au martyre, "`` x 4);
    * ``short_span`` characters for a shorter unit with a letter or digit (``"ha "`` x 32);
    * ``symbol_span`` characters for a unit of symbols and spaces only, which legitimate output
      repeats more (rules of ``-`` or ``=``, table separators, blank lines).

    The unit counted is the shortest one: ``"aaaa…"`` is ``"a"`` repeated, not ``"aaaaaaaa"``.
    """

    max_unit: int = 60
    repeats: int = 4
    long_unit: int = 8
    short_span: int = 96
    symbol_span: int = 160

    def span(self, unit: str) -> int:
        """Characters of tail a repeated ``unit`` must cover to trip the guard."""
        if not any(c.isalnum() for c in unit):
            return max(self.symbol_span, self.repeats * len(unit))
        if len(unit) >= self.long_unit:
            return self.repeats * len(unit)
        return self.short_span

    def least_span(self, unit_length: int) -> int:
        """The smallest span any unit of this length needs (letters or not)."""
        if unit_length >= self.long_unit:
            return self.repeats * unit_length
        return min(self.short_span, self.symbol_span)


class RepetitionGuard:
    """Fed the output text piece by piece; :meth:`feed` returns True once the output has
    degenerated into one short unit repeated (see :class:`GuardLimits`).

    Only a bounded tail is kept, and each piece costs one string comparison per candidate
    unit length (a slice compare, in C): cheap enough to run on every token.
    """

    def __init__(self, limits: GuardLimits | None = None) -> None:
        self.limits = limits or GuardLimits()
        limits = self.limits
        self._keep = (
            max(limits.repeats * limits.max_unit, limits.short_span, limits.symbol_span)
            + limits.max_unit
        )
        self._tail = ""
        self.unit: str | None = None  # the repeated unit, once tripped

    @property
    def tripped(self) -> bool:
        return self.unit is not None

    def feed(self, text: str) -> bool:
        if self.unit is not None:
            return True
        if not text:
            return False
        tail = (self._tail + text)[-self._keep :]
        self._tail = tail
        size = len(tail)
        limits = self.limits
        for length in range(1, min(limits.max_unit, size // 2) + 1):
            span = limits.least_span(length)
            if span > size or not _periodic(tail, length, span):
                continue
            unit = tail[-length:]
            if not _primitive(unit):
                continue  # a shorter unit repeats: it was judged at its own length
            needed = limits.span(unit)
            if needed > span and (needed > size or not _periodic(tail, length, needed)):
                continue
            self.unit = unit
            return True
        return False


def _periodic(text: str, period: int, span: int) -> bool:
    """Whether the last ``span`` characters of ``text`` repeat with this period."""
    size = len(text)
    return text[size - span + period :] == text[size - span : size - period]


def _primitive(unit: str) -> bool:
    """Whether ``unit`` is not itself a shorter string repeated."""
    return (unit + unit).find(unit, 1) == len(unit)
