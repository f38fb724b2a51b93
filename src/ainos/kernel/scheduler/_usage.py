"""Busy time per client and per class over a sliding window, for ``set_gpu_util`` caps."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

__all__ = ["UsageWindow"]


class UsageWindow:
    """Busy intervals of one executor, each split among the targets (clients, classes) it served.

    A target's usage is its busy slot-time inside ``[now - window, now]`` divided by the
    window's capacity (``window * slots``): 0.5 means half of what the executor could give.
    """

    def __init__(self, window: float, slots: int) -> None:
        self._window = window
        self._capacity = window * slots
        self._done: deque[tuple[float, float, dict[str, float]]] = deque()

    def record(self, start: float, end: float, shares: Mapping[str, float]) -> None:
        self._done.append((start, end, dict(shares)))

    def usage(
        self,
        target: str,
        now: float,
        running: Iterable[tuple[float, Mapping[str, float]]] = (),
    ) -> float:
        """Fraction of capacity used by ``target``; ``running`` counts runs still going."""
        horizon = now - self._window
        while self._done and self._done[0][1] <= horizon:
            self._done.popleft()
        busy = 0.0
        for start, end, shares in self._done:
            share = shares.get(target)
            if share:
                busy += share * max(0.0, min(end, now) - max(start, horizon))
        for begun, running_shares in running:
            share = running_shares.get(target)
            if share:
                busy += share * max(0.0, now - max(begun, horizon))
        return busy / self._capacity

    def busy_fraction(self, now: float, running: Iterable[float] = ()) -> float:
        """All work's share of capacity (``running``: start times of runs still going)."""
        horizon = now - self._window
        busy = sum(max(0.0, min(e, now) - max(s, horizon)) for s, e, _ in self._done)
        busy += sum(max(0.0, now - max(s, horizon)) for s in running)
        return min(1.0, busy / self._capacity)
