"""One generation in flight, seen from its consumer: chunks to iterate (in a thread or in an
event loop), a place in line while it waits, and cancellation.

The scheduler's worker pushes chunks from its thread; the consumer reads them in order, then
the end of the stream or the error that ended it. A consumer that stops reading early
cancels the generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

__all__ = ["Generation"]

Chunk = dict[str, Any]
_END = object()


class Generation:
    def __init__(self, model: str, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.model = model
        self._loop = loop
        self._sync: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._async: asyncio.Queue[object] | None = asyncio.Queue() if loop else None
        self._cancel: Callable[[], object] = lambda: None
        self._position: Callable[[], int | None] = lambda: None
        self._ended = threading.Event()
        self.initial_position = 0  # place in line when submitted (0: a slot was free)

    # -- the producer's side (the scheduler's worker thread) --------------------------------

    def bind(self, cancel: Callable[[], object], position: Callable[[], int | None]) -> None:
        self._cancel, self._position = cancel, position

    def push(self, chunk: Chunk) -> None:
        self._put(chunk)

    def end(self, error: BaseException | None = None) -> None:
        if self._ended.is_set():
            return
        self._ended.set()
        self._put(error if error is not None else _END)

    def _put(self, item: object) -> None:
        if self._async is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody reads any more
                self._loop.call_soon_threadsafe(self._async.put_nowait, item)
        else:
            self._sync.put(item)

    # -- the consumer's side ----------------------------------------------------------------

    @property
    def queue_position(self) -> int | None:
        """Place in line now, or None once it generates (or has ended)."""
        return None if self._ended.is_set() else self._position()

    def cancel(self) -> None:
        """Stop it wherever it is: queued, or between two tokens."""
        self._cancel()

    def __iter__(self) -> Iterator[Chunk]:
        if self._async is not None:
            raise RuntimeError("this generation is read from its event loop: use async for")
        try:
            while (chunk := _unwrap(self._sync.get())) is not None:
                yield chunk
        finally:
            self._abandoned()

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        if self._async is None:
            raise RuntimeError("this generation is read from threads: use for")
        try:
            while (chunk := _unwrap(await self._async.get())) is not None:
                yield chunk
        finally:
            self._abandoned()

    def _abandoned(self) -> None:
        """A reader that stops before the end (a client gone, Ctrl-C, an error of its own)
        leaves nobody to read the rest: stop generating it."""
        if not self._ended.is_set():
            self.cancel()


def _unwrap(item: object) -> Chunk | None:
    """A queued item as the reader gets it: a chunk, None at the end, or the error raised."""
    if item is _END:
        return None
    if isinstance(item, BaseException):
        raise item
    assert isinstance(item, dict)
    return item
