"""Cooperative cancellation of one run: the scheduler trips it, the work (or its engine) obeys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

__all__ = ["AbortReason", "CancelToken", "RunAborted"]


class AbortReason(StrEnum):
    PREEMPTED = "preempted"  # made way for realtime work; the job is re-queued
    CANCELLED = "cancelled"  # every job of the run was cancelled by its client
    DEADLINE = "deadline"  # every job of the run missed its deadline
    SHUTDOWN = "shutdown"


class RunAborted(Exception):
    """Raised by work that stopped because its token was tripped (not a failure of the job)."""


class CancelToken:
    """Tripped at most once, from any thread; callbacks let an engine abort a run in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: AbortReason | None = None
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> AbortReason | None:
        return self._reason

    def cancel(self, reason: AbortReason) -> bool:
        """Trip the token; returns False if it was already tripped (the first reason stays)."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()
        return True

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when tripped (at once if already); returns an unregister function."""
        with self._lock:
            if self._reason is None:
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback()
        return lambda: None

    def raise_if_cancelled(self) -> None:
        if self._reason is not None:
            raise RunAborted(str(self._reason))

    def _discard(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
