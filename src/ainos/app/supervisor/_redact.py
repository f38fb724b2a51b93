"""Keeping secrets from a sub-agent's model and from its report.

An agent definition's ``policies.secrets.redact`` is ``true`` (the secret patterns the
security check knows), ``false``, or a list of regular expressions. Every request the agent's
model receives passes through :class:`RedactingModel`, so a secret a tool read (a file, a
command's output) is replaced before the model sees it; the report's text passes through the
same :class:`Redactor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ainos.app.agent import Message, Model, ModelReply, ModelRequest, ModelTraits
from ainos.app.agent._model import TextSink

__all__ = ["REDACTED", "ModelWrapper", "RedactingModel", "Redactor"]

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Redactor:
    """Replaces what ``patterns`` match; a pattern with a group named ``secret`` replaces
    only that group (``api_key = "[redacted]"`` keeps the name a reader needs)."""

    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, redact: bool | Sequence[str]) -> Redactor:
        if redact is True:
            from ainos.app.supervisor.checks import SECRET_PATTERNS

            return cls(tuple(p.regex for p in SECRET_PATTERNS))
        if redact is False:
            return cls()
        return cls(tuple(re.compile(p) for p in redact))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def text(self, value: str) -> str:
        for pattern in self.patterns:
            value = pattern.sub(_replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """``value`` with every string inside it (dicts, lists) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def messages(self, messages: Iterable[Message]) -> list[Message]:
        return [self.value(message) for message in messages]


def _replacement(match: re.Match[str]) -> str:
    if "secret" not in match.re.groupindex or match.group("secret") is None:
        return REDACTED
    start, end = match.span("secret")
    whole_start = match.start()
    text = match.group(0)
    return text[: start - whole_start] + REDACTED + text[end - whole_start :]


class ModelWrapper:
    """A model in front of ``inner``, with its name and traits; subclasses change what
    ``complete`` does."""

    def __init__(self, inner: Model) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def traits(self) -> ModelTraits:
        return self._inner.traits

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        return self._inner.complete(request, on_text)


class RedactingModel(ModelWrapper):
    """``inner`` behind a redactor: what it is asked never holds what the patterns match."""

    def __init__(self, inner: Model, redactor: Redactor) -> None:
        super().__init__(inner)
        self._redactor = redactor

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        clean = replace(request, messages=self._redactor.messages(request.messages))
        return self._inner.complete(clean, on_text)
