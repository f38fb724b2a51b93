"""What the policy decides: batches to dispatch, runs to abort, jobs to fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ainos.errors import SchedulerError
from ainos.protocol.scheduler import Priority

from ._token import AbortReason

__all__ = ["Abort", "CancelOutcome", "Decisions", "Dispatch", "Failure", "Lane", "Slice"]


class Lane(StrEnum):
    FOREGROUND = "foreground"
    BACKGROUND = "background"  # batch/idle only, at low OS priority


@dataclass(frozen=True)
class Slice:
    """Rows ``[start, stop)`` of one job; a whole job when ``start == 0`` and ``stop == rows``."""

    job_id: str
    start: int
    stop: int
    rows: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.rows


@dataclass(frozen=True)
class Dispatch:
    """One run for one executor: slices of jobs sharing a batch key, merged in this order."""

    batch_id: int
    executor: str
    lane: Lane
    priority: Priority
    batch_key: str | None
    slices: tuple[Slice, ...]
    preemptible: bool

    @property
    def rows(self) -> int:
        return sum(s.size for s in self.slices)

    @property
    def job_ids(self) -> tuple[str, ...]:
        return tuple(s.job_id for s in self.slices)


@dataclass(frozen=True)
class Abort:
    batch_id: int
    reason: AbortReason


@dataclass(frozen=True)
class Failure:
    job_id: str
    error: SchedulerError


@dataclass
class Decisions:
    dispatches: list[Dispatch] = field(default_factory=list)
    aborts: list[Abort] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dispatches or self.aborts or self.failures)


@dataclass(frozen=True)
class CancelOutcome:
    """``stage`` is ``queued``, ``running`` or ``unknown`` (finished or never seen)."""

    stage: str
    abort: Abort | None = None
