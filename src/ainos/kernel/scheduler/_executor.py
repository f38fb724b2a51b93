"""The executor interface: one per device; runs the batches the policy dispatches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._config import ExecutorSlots
from ._decisions import Dispatch
from ._token import CancelToken
from ._work import Work

__all__ = ["BatchRun", "Executor", "RunReport"]


@dataclass(frozen=True)
class BatchRun:
    """A dispatched batch, ready to run.

    ``prepare()`` gives the work and its (merged) inputs, ``finish(outputs)`` one output per
    slice; :meth:`call` does all three in place. An executor that runs work elsewhere (a
    worker process, a cluster) calls ``prepare`` and ``finish`` here and ships the work and
    inputs, which must then pickle.
    """

    dispatch: Dispatch
    token: CancelToken
    prepare: Callable[[], tuple[Work[Any, Any], object]]
    finish: Callable[[object], list[object]]

    def call(self, token: CancelToken) -> list[object]:
        work, inputs = self.prepare()
        return self.finish(work(inputs, token))


@dataclass(frozen=True)
class RunReport:
    """How a run ended. ``run_time`` is the device time the executor measured around it."""

    batch_id: int
    outputs: list[object] | None
    error: BaseException | None
    run_time: float


class Executor(Protocol):
    """Runs batches on one device. A CPU executor runs them on its worker threads or worker
    processes; a cluster executor (Ray) would ship the prepared work to a remote worker.
    ``submit`` must not block: the executor gets a batch only when the policy knows it has a
    free slot of that lane. Reports may come from any thread."""

    @property
    def slots(self) -> ExecutorSlots: ...

    @property
    def os_priority(self) -> str | None:
        """What the OS granted the background slots (or why not), for stats and reports."""
        ...

    def start(self) -> None: ...

    def submit(self, run: BatchRun, done: Callable[[RunReport], None]) -> None: ...

    def shutdown(self) -> None: ...
