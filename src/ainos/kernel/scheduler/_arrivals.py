"""When the next realtime request will come, for clients that send at a steady rate."""

from __future__ import annotations

import itertools
import statistics
from collections import deque

__all__ = ["ArrivalPredictor"]

_HISTORY = 12
_MIN_INTERVALS = 4
_MAX_JITTER = 0.25  # of the period: beyond it arrivals are not treated as periodic


class ArrivalPredictor:
    """Realtime clients are often periodic (audio frames, UI ticks, a sensor). When recent
    arrivals are, work can be cut to end just before the next one instead of being aborted
    when it comes; when they are not, :meth:`expected` says nothing."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=_HISTORY)

    def add(self, now: float) -> None:
        if self._times and now - self._times[-1] < 1e-4:
            return  # a burst counts as one arrival
        self._times.append(now)

    def expected(self, now: float) -> tuple[float, float, float] | None:
        """``(time, jitter, period)`` of the next arrival, or None if arrivals are not
        periodic or the next one is already overdue."""
        times = list(self._times)
        intervals = [b - a for a, b in itertools.pairwise(times)]
        if len(intervals) < _MIN_INTERVALS:
            return None
        period = statistics.median(intervals)
        jitter = max(abs(i - period) for i in intervals)
        if period <= 0 or jitter > _MAX_JITTER * period:
            return None
        following = times[-1] + period
        if now > following + jitter:
            return None
        return following, jitter, period
