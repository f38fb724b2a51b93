"""Ending a request's work early: when its client hangs up, and when the daemon stops.

A handler that awaits a job (a whole chat reply, a request's embeddings) would otherwise
keep the model busy for a client that is gone, and keep the daemon from stopping for as
long as the job takes. :func:`unless_interrupted` races the work against the client's
``http.disconnect``; :class:`Stopping` cancels what is still running when the daemon's
drain timeout is over (a stream's generation included: its reader then ends the stream
with an error event); streams that only watch (the dashboard's) end as soon as the daemon
begins to stop (:meth:`Stopping.begin`), so they never hold its shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from starlette.requests import Request

from ainos.errors import JobCancelled

__all__ = ["ClientGone", "Stopping", "unless_interrupted"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client closed its connection before its answer was ready."""


class Cancellable(Protocol):
    def cancel(self) -> object: ...


C = TypeVar("C", bound=Cancellable)


class Stopping:
    """What the daemon cancels once its HTTP drain timeout is over: running work registered
    with :meth:`track` (generations, request tasks). :meth:`begin` and :meth:`cancel_all`
    may be called from any thread; what they wake or cancel runs on the server's loop."""

    def __init__(self) -> None:
        self._work: weakref.WeakSet[Cancellable] = weakref.WeakSet()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = threading.Event()
        self._begun = threading.Event()
        self._begun_on_loop = asyncio.Event()  # set on the loop only: asyncio's is not thread-safe

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the work runs on (the server's, at its start)."""
        self._loop = loop
        if self._begun.is_set():
            self._begun_on_loop.set()

    def begin(self) -> None:
        """The daemon stops taking requests: watchers waiting in :meth:`begun_within` wake
        now, while work keeps its drain timeout."""
        self._begun.set()
        self._on_loop(self._begun_on_loop.set)

    async def begun_within(self, seconds: float) -> bool:
        """Whether the daemon began to stop, waiting up to ``seconds`` for it."""
        if not self._begun.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._begun_on_loop.wait(), seconds)
        return self._begun.is_set()

    def track(self, work: C) -> C:
        """Cancel ``work`` (anything with ``cancel()``) if it still runs when the daemon
        stops; work started after that is cancelled at once."""
        self._work.add(work)
        if self._stopped.is_set():
            work.cancel()
        return work

    def cancel_all(self) -> None:
        self._stopped.set()
        self.begin()
        self._on_loop(self._cancel_tracked)

    def _on_loop(self, call: Callable[[], object]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # A loop closed in between: nothing runs on it any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(call)

    def _cancel_tracked(self) -> None:
        work = list(self._work)
        if work:
            _log.warning("the drain timeout is over: cancelling %d running requests", len(work))
        for item in work:
            item.cancel()


async def _disconnected(request: Request) -> None:
    """Returns when the client has closed the connection (the body already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_interrupted(request: Request, work: Awaitable[T], stopping: Stopping) -> T:
    """``work``'s result; if the client hangs up first, the work is cancelled and
    :class:`ClientGone` raised; if the daemon stops first, :class:`JobCancelled`."""
    task = stopping.track(asyncio.ensure_future(work))
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        watcher.cancel()
        raise
    watcher.cancel()
    if task in done:
        if task.cancelled():  # only the daemon's stopping cancels it
            raise JobCancelled("the daemon is stopping: the request was cancelled")
        return task.result()
    task.cancel()
    # Let the work run its own cancellation (its jobs withdrawn) before going on.
    await asyncio.gather(task, return_exceptions=True)
    raise ClientGone("the client closed the connection")
