"""How a model request ended, as the ``outcome`` label of the serving metrics."""

from __future__ import annotations

from ainos.errors import DeadlineExceeded, InvalidArgument, JobCancelled, QueueFull

__all__ = ["request_outcome"]


def request_outcome(error: BaseException) -> str:
    if isinstance(error, QueueFull):
        return "rejected"
    if isinstance(error, DeadlineExceeded):
        return "deadline_exceeded"
    if isinstance(error, JobCancelled):
        return "cancelled"
    if isinstance(error, InvalidArgument):
        return "invalid"
    return "error"
