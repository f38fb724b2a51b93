"""Settings of the scheduling policy: discipline, admission bounds, aging, batching, holding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ainos.errors import InvalidArgument
from ainos.protocol.scheduler import Priority

__all__ = ["BatchingConfig", "Discipline", "ExecutorSlots", "PolicyConfig"]


class Discipline(StrEnum):
    PRIORITY = "priority"  # classes, aging, fair sharing, EDF, bounded hold, preemption
    FIFO = "fifo"  # arrival order only (what AIOS does): the baseline for benchmarks


@dataclass(frozen=True)
class BatchingConfig:
    """Dynamic batching of one model: ``max_batch_size`` rows, held at most ``max_queue_delay``.

    A batch is held back to fill only while its executor is busy with other work: a lone
    request on an idle executor runs at once, and realtime work is never held.
    """

    max_batch_size: int = 64
    max_queue_delay: float = 0.002

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue_delay < 0:
            raise InvalidArgument("max_batch_size must be >= 1 and max_queue_delay >= 0")


@dataclass(frozen=True)
class ExecutorSlots:
    """How many runs an executor takes at once.

    ``background_slots`` run only batch/idle work, at a low OS priority where the executor can
    arrange it; when an executor has any, batch/idle work stays off the ordinary slots.
    Without them, ``background_limit`` caps how many ordinary slots batch/idle work holds at
    once, keeping the rest for realtime/interactive work (an engine's parallel sequences,
    where the OS priority of the waiting thread means nothing).
    """

    name: str
    slots: int = 1
    background_slots: int = 0
    background_limit: int | None = None

    def __post_init__(self) -> None:
        if self.slots < 1 or self.background_slots < 0:
            raise InvalidArgument(f"executor {self.name}: needs slots >= 1, background >= 0")
        if self.background_limit is not None and (
            self.background_slots or not 0 <= self.background_limit <= self.slots
        ):
            raise InvalidArgument(
                f"executor {self.name}: background_limit needs no background slots and "
                "0 <= limit <= slots"
            )


def _default_bounds() -> dict[Priority, int]:
    # Deep enough for a workstation's clients; a decision scans the queues, so keep them so.
    return {
        Priority.REALTIME: 128,
        Priority.INTERACTIVE: 512,
        Priority.BATCH: 1024,
        Priority.IDLE: 1024,
    }


@dataclass(frozen=True)
class PolicyConfig:
    """``aging_interval``: each such span of waiting lifts a non-realtime job one class (a
    lifted job goes before native jobs of its new class), so strict priority cannot starve it
    forever; None turns aging off.

    ``max_hold``: while realtime clients are active (seen within ``realtime_window``), work that
    can be cut is cut into chunks expected to run at most this long; the chunk bound halves
    whenever realtime work still waited longer and grows back while no realtime client is
    active; None: work is not cut for realtime's sake. ``predict_realtime``: when realtime
    requests come at a steady rate, cut abortable work to end before the next is due (see
    ``ChunkController``). ``preempt``: abort running abortable work when realtime work waits
    for its slot. ``util_window``: the sliding window of ``set_gpu_util`` caps.
    """

    discipline: Discipline = Discipline.PRIORITY
    max_queued: Mapping[Priority, int] = field(default_factory=_default_bounds)
    aging_interval: float | None = 5.0
    batching: Mapping[str, BatchingConfig] = field(default_factory=dict)
    default_batching: BatchingConfig = field(default_factory=BatchingConfig)
    max_hold: float | None = 0.010
    min_chunk_rows: int = 1
    realtime_window: float = 1.0
    predict_realtime: bool = True
    preempt: bool = True
    util_window: float = 1.0
    stats_window: int = 1024

    def __post_init__(self) -> None:
        if self.aging_interval is not None and self.aging_interval <= 0:
            raise InvalidArgument("aging_interval must be positive")
        if self.max_hold is not None and self.max_hold <= 0:
            raise InvalidArgument("max_hold must be positive")
        if self.min_chunk_rows < 1 or self.util_window <= 0 or self.stats_window < 1:
            raise InvalidArgument("min_chunk_rows, util_window and stats_window must be positive")

    def batching_for(self, model: str | None) -> BatchingConfig:
        if model is not None and model in self.batching:
            return self.batching[model]
        return self.default_batching
