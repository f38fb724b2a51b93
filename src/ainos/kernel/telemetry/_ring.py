"""A bounded, thread-safe ring buffer: the newest ``capacity`` items, oldest first."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

_T = TypeVar("_T")


class RingBuffer(Generic[_T]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a ring buffer holds at least one item")
        self._items: deque[_T] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._appended = 0

    @property
    def capacity(self) -> int:
        return self._items.maxlen or 0

    @property
    def appended(self) -> int:
        """How many items were ever appended (including those since overwritten)."""
        return self._appended

    def append(self, item: _T) -> None:
        with self._lock:
            self._items.append(item)
            self._appended += 1

    def latest(self) -> _T | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def items(self, last: int | None = None) -> list[_T]:
        """A copy of the buffer's items, oldest first; only the newest ``last`` if given."""
        with self._lock:
            items = list(self._items)
        return items if last is None else items[-last:] if last > 0 else []

    def __len__(self) -> int:
        return len(self._items)
