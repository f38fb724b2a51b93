"""Per-model admission: at most ``max_concurrent`` requests in the scheduler, at most
``max_waiting`` more waiting in line (in arrival order), the rest refused at once.

Local model servers are most often asked for limits that really hold and for a waiting
request's place in line; both live here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ainos.errors import DeadlineExceeded, QueueFull

__all__ = ["GateStats", "ModelGate"]


@dataclass(frozen=True)
class GateStats:
    max_concurrent: int
    max_waiting: int
    in_flight: int
    waiting: int
    rejected: int
    holders: tuple[str, ...]  # the clients whose requests are in flight


class _Ticket:
    __slots__ = ("client",)

    def __init__(self, client: str) -> None:
        self.client = client


class ModelGate:
    def __init__(self, name: str, *, max_concurrent: int, max_waiting: int) -> None:
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("max_concurrent must be >= 1 and max_waiting >= 0")
        self.name = name
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self._condition = threading.Condition()
        self._holders: list[str] = []
        self._line: deque[_Ticket] = deque()
        self._rejected = 0

    def position(self, client: str) -> int | None:
        """1-based place in line of the client's first waiting request, if it waits."""
        with self._condition:
            for index, ticket in enumerate(self._line):
                if ticket.client == client:
                    return index + 1
        return None

    def stats(self) -> GateStats:
        with self._condition:
            return GateStats(
                self.max_concurrent,
                self.max_waiting,
                len(self._holders),
                len(self._line),
                self._rejected,
                tuple(self._holders),
            )

    def try_enter(self, client: str) -> bool:
        """Take a place at once if one is free and nobody waits; never blocks. A True must be
        paired with :meth:`leave`."""
        with self._condition:
            if len(self._holders) >= self.max_concurrent or self._line:
                return False
            self._holders.append(client)
            return True

    def leave(self, client: str) -> None:
        with self._condition:
            self._holders.remove(client)
            self._condition.notify_all()

    @contextmanager
    def admitted(self, client: str, timeout: float | None = None) -> Iterator[int]:
        """Hold a place for the body; yields the place in line the request had (0: none)."""
        ticket = _Ticket(client)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            waited_at = 0
            if len(self._holders) >= self.max_concurrent or self._line:
                if len(self._line) >= self.max_waiting:
                    self._rejected += 1
                    raise QueueFull(
                        f"model {self.name} is at its limit: {self.max_concurrent} requests "
                        f"running and {self.max_waiting} waiting"
                    )
                self._line.append(ticket)
                waited_at = len(self._line)
                while not (self._line[0] is ticket and len(self._holders) < self.max_concurrent):
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        self._line.remove(ticket)
                        self._condition.notify_all()
                        raise DeadlineExceeded(
                            f"the request waited for model {self.name} past its deadline"
                        )
                    self._condition.wait(remaining)
                self._line.popleft()
            self._holders.append(client)
            self._condition.notify_all()
        try:
            yield waited_at
        finally:
            self.leave(client)
