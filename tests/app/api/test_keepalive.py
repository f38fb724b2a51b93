"""Ticks in a silent stream: items pass through in order, a tick after each stretch of
silence, and leaving early cancels the wait without closing the source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ainos.app.api._keepalive import with_ticks


def test_items_pass_through_unticked_without_an_interval() -> None:
    async def source() -> AsyncIterator[int]:
        for item in (1, 2, 3):
            yield item

    async def read() -> list[int | None]:
        return [item async for item in with_ticks(source(), None)]

    assert asyncio.run(read()) == [1, 2, 3]


def test_silence_is_ticked_and_items_keep_their_order() -> None:
    go_on = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "first"
        await go_on.wait()
        yield "second"

    async def read() -> list[str | None]:
        seen: list[str | None] = []
        async for item in with_ticks(source(), 0.01):
            seen.append(item)
            if seen.count(None) == 2:
                go_on.set()
        return seen

    assert asyncio.run(read()) == ["first", None, None, "second"]


def test_leaving_while_waiting_cancels_the_wait_and_leaves_the_source_open() -> None:
    waiting = asyncio.Event()
    cancelled: list[bool] = []

    async def source() -> AsyncIterator[str]:
        waiting.set()
        try:
            await asyncio.Event().wait()  # never set: the source is stuck
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        yield "never"

    async def leave_after_a_tick() -> bool:
        stuck = source()
        ticking = with_ticks(stuck, 0.01)
        assert await ticking.__anext__() is None
        await ticking.aclose()
        # The wait was cancelled; closing the source stays its owner's job, and works.
        await stuck.aclose()
        return waiting.is_set()

    assert asyncio.run(leave_after_a_tick())
    assert cancelled == [True]
