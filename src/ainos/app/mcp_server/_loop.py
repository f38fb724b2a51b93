"""The server's event loop as its worker threads reach it (agent turns, generations).

A worker may outlive the loop: at shutdown, or when a test's loop stops without closing,
anyio's ``from_thread`` calls wait forever for a loop that no longer runs, and the process
never exits. These calls either do not wait (``soon``) or stop waiting once the loop has
stopped (``run``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ainos.errors import AinosError

__all__ = ["LoopGone", "LoopHandle"]

_T = TypeVar("_T")
_POLL_S = 0.5


class LoopGone(AinosError):
    """The server's event loop stopped: nobody is there to receive."""


class LoopHandle:
    """Made on the loop; used from any thread."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def soon(self, function: Callable[..., object], *args: Any) -> None:
        """Call ``function`` on the loop without waiting; nothing once the loop is closed."""
        try:
            self._loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # closed: nothing is waiting on it any more
            return

    def run(self, function: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run ``function(*args)`` on the loop and wait for its result (``LoopGone`` when
        the loop stops first)."""
        if self._loop.is_closed() or not self._loop.is_running():
            raise LoopGone("the server is stopping")

        async def call() -> _T:
            return await function(*args)

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        while True:
            try:
                return future.result(_POLL_S)
            except concurrent.futures.TimeoutError:
                if not self._loop.is_running():
                    future.cancel()
                    raise LoopGone("the server is stopping") from None
