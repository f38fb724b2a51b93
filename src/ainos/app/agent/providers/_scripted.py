"""A fake model that replies from a script: the stand-in for a model in tests of the agent
loop and in the agent benchmark, where what matters is what the loop does with replies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

from ainos.app.agent._model import ModelReply, ModelRequest, ModelTraits, TextSink
from ainos.errors import AgentError

__all__ = ["FakeScriptedModel", "ScriptStep"]

# A reply, or a function of the request that makes it (to echo a tool's result, say).
ScriptStep: TypeAlias = ModelReply | Callable[[ModelRequest], ModelReply]


class FakeScriptedModel:
    """Replies with the script's steps in order, and records every request (``requests``).
    Text goes to ``on_text`` in ``pieces`` parts, as a streaming model would send it. A
    request past the end of the script raises ``AgentError`` saying so."""

    def __init__(
        self,
        script: Iterable[ScriptStep],
        *,
        name: str = "fake-scripted",
        traits: ModelTraits | None = None,
        pieces: int = 3,
    ) -> None:
        self._script = list(script)
        self._name = name
        self._traits = traits or ModelTraits()
        self._pieces = max(1, pieces)
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def traits(self) -> ModelTraits:
        return self._traits

    @property
    def remaining(self) -> int:
        """Steps of the script not yet used."""
        return len(self._script) - len(self.requests)

    def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self._script):
            raise AgentError(
                f"{self._name}: its script has {len(self._script)} replies and request "
                f"{index + 1} came"
            )
        step = self._script[index]
        reply = step(request) if callable(step) else step
        if on_text is not None and reply.text:
            size = -(-len(reply.text) // self._pieces)  # ceiling: at most `pieces` parts
            for start in range(0, len(reply.text), size):
                on_text(reply.text[start : start + size])
        return reply
