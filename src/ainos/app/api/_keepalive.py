"""Keeping a quiet stream alive: a tick after each stretch of silence.

A reply held back (a constrained tool call is sent only whole), a long prompt being read or a
busy device can leave a stream silent for minutes. Clients and proxies give up on a silent
connection (a coding agent's idle timeout, a proxy's read timeout), so the routes turn each
tick into something the client reads: an SSE comment for chat completions, a repeated
``response.in_progress`` event for the Responses API (clients that skip comments still see
an event).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

__all__ = ["with_ticks"]

_T = TypeVar("_T")


async def _next(items: AsyncIterator[_T]) -> tuple[bool, _T | None]:
    try:
        return True, await items.__anext__()
    except StopAsyncIteration:
        return False, None


async def with_ticks(
    items: AsyncIterator[_T], interval_s: float | None
) -> AsyncIterator[_T | None]:
    """``items`` as they come, and ``None`` after each ``interval_s`` seconds without one
    (never, when ``interval_s`` is None). Closing this generator cancels the wait for the next
    item; ``items`` itself is left for its owner to close."""
    if interval_s is None:
        async for item in items:
            yield item
        return
    pending: asyncio.Task[tuple[bool, _T | None]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(items))
            done, _ = await asyncio.wait({pending}, timeout=interval_s)
            if not done:
                yield None
                continue
            more, got = pending.result()
            pending = None
            if not more:
                return
            yield got
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
