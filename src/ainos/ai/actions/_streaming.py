"""Streaming text: an entity whose text grows while an action runs.

The provider holds the writer and calls ``set_text`` with the whole text so far (not a
delta, as in Windows); readers either register a change handler or iterate
``changes()``, which ends once the writer is closed. Writers may live on another thread
(a summariser running in a worker), so waiting readers are woken through their own loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ainos.ai.actions._entities import ActionEntity, new_entity_id, text_properties
from ainos.ai.actions._json import JsonObject
from ainos.ai.actions._kinds import ActionEntityKind, ActionEntityTextFormat
from ainos.errors import ActionError

__all__ = ["StreamingTextActionEntity", "StreamingTextActionEntityWriter"]

TextChangedHandler = Callable[["StreamingTextActionEntity"], None]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass(frozen=True, eq=False)
class StreamingTextActionEntity(ActionEntity):
    """The reading side. Its text only changes through its writer."""

    kind = ActionEntityKind.STREAMING_TEXT
    text_format: ActionEntityTextFormat = ActionEntityTextFormat.PLAIN

    # Mutable state behind a frozen face: identity and format never change, the text does.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _text: str = field(default="", init=False, repr=False)
    _version: int = field(default=0, init=False, repr=False)
    _complete: bool = field(default=False, init=False, repr=False)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list, init=False, repr=False)
    _handlers: list[TextChangedHandler] = field(default_factory=list, init=False, repr=False)

    def get_text(self) -> str:
        return self._text

    @property
    def is_complete(self) -> bool:
        return self._complete

    def add_text_changed_handler(self, handler: TextChangedHandler) -> Callable[[], None]:
        """Call ``handler`` after every change (and on completion); returns its remover."""
        with self._lock:
            self._handlers.append(handler)

        def remove() -> None:
            with self._lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return remove

    async def changes(self) -> AsyncIterator[str]:
        """The text now, then after every change, until the writer closes."""
        seen = -1
        while True:
            if self._version != seen:
                seen = self._version
                yield self._text
            if self._complete:
                return
            await self._changed_since(seen)

    async def wait_complete(self) -> str:
        async for _ in self.changes():
            pass
        return self._text

    async def _changed_since(self, version: int) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._version != version or self._complete:
                return
            self._waiters.append(waiter)
        await waiter

    def _update(self, text: str | None, complete: bool) -> None:
        with self._lock:
            if self._complete:
                raise ActionError("the streaming text was closed; it cannot change any more")
            if text is not None:
                object.__setattr__(self, "_text", text)
                object.__setattr__(self, "_version", self._version + 1)
            if complete:
                object.__setattr__(self, "_complete", True)
            waiters = self._waiters.copy()
            self._waiters.clear()
            handlers = list(self._handlers)
        for waiter in waiters:
            loop = waiter.get_loop()
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, waiter)
        for handler in handlers:
            handler(self)

    def _payload(self) -> dict[str, Any]:
        return {
            "text": self._text,
            "textFormat": self.text_format.wire_name,
            "isComplete": self._complete,
        }

    def _properties(self) -> dict[str, object]:
        props = text_properties(self._text, self.text_format)
        keep = ("Text", "Length", "WordCount", "TextFormat")
        return {**{k: props[k] for k in keep}, "IsComplete": self._complete}

    @classmethod
    def _from_payload(cls, data: JsonObject, entity_id: str) -> ActionEntity:
        text_format = data.member(
            "textFormat", ActionEntityTextFormat, ActionEntityTextFormat.PLAIN
        )
        entity = cls(text_format, id=entity_id)
        entity._update(data.text("text"), complete=data.flag("isComplete", True))
        return entity


class StreamingTextActionEntityWriter:
    """The writing side, held by the provider; ``reader_entity`` goes into the outputs."""

    def __init__(
        self,
        text_format: ActionEntityTextFormat = ActionEntityTextFormat.PLAIN,
        *,
        entity_id: str | None = None,
    ) -> None:
        self.reader_entity = StreamingTextActionEntity(text_format, id=entity_id or new_entity_id())

    @property
    def text_format(self) -> ActionEntityTextFormat:
        return self.reader_entity.text_format

    @property
    def closed(self) -> bool:
        return self.reader_entity.is_complete

    def set_text(self, text: str) -> None:
        """Replace the whole text (the reader sees the latest value, never a partial one)."""
        self.reader_entity._update(text, complete=False)

    def close(self) -> None:
        if not self.closed:
            self.reader_entity._update(None, complete=True)

    def __enter__(self) -> StreamingTextActionEntityWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
