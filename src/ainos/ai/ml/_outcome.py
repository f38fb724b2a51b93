"""How a model request ended, as the ``outcome`` label of the serving metrics."""

from __future__ import annotations

import asyncio

from ainos.errors import DeadlineExceeded, InvalidArgument, JobCancelled, QueueFull

__all__ = ["request_outcome"]


def request_outcome(error: BaseException) -> str:
    if isinstance(error, QueueFull):
        return "rejected"
    if isinstance(error, DeadlineExceeded):
        return "deadline_exceeded"
    # A request awaited on an event loop is cancelled there (its client gone, say).
    if isinstance(error, (JobCancelled, asyncio.CancelledError)):
        return "cancelled"
    if isinstance(error, InvalidArgument):
        return "invalid"
    return "error"
