"""How one embedding model's batches use the CPU: one run over every core, or runs side by side.

A run spread over all cores (intra-op threads) answers a lone request soonest, but its
threads meet at every operator and the batches of a closed loop of clients settle at half
their number. Runs side by side, one thread each, keep every core busy with no such waits.
Measured on the 2-core reference machine (MiniLM, 16 tokens, raw ONNX Runtime): one
two-thread run gave 407 seq/s at batch 4 and 525 at batch 8 (599 at its best, batch 32);
two one-thread runs side by side 540 and 601. A lone batch-1 request takes 3.5 ms on two
threads, 4.4 ms on one. So a model's executor has a slot per core: a run starts on every
core while it is alone, and on one thread while others overlap it or did so lately.

Background (batch/idle) runs always compute on their worker thread alone: that thread runs
at a low OS priority, which engine threads it would wake instead do not inherit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ainos.kernel.scheduler import CancelToken, Feeds, Lane, OnnxRun, current_lane

__all__ = ["EmbeddingRun", "RunLayout", "run_layout"]

# How long after runs last overlapped new runs still start on one thread: concurrent
# clients come and go in bursts, and a wide run overlapped by narrow ones waits for its
# slowest thread.
SIDE_BY_SIDE_WINDOW_S = 1.0
_CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class RunLayout:
    """A model executor's slots, and whether its runs may go side by side on one thread."""

    slots: int  # foreground (realtime/interactive) runs at once
    background_slots: int  # batch/idle runs at once, at a low OS priority
    side_by_side: bool


def run_layout(providers: Sequence[str], cores: int) -> RunLayout:
    """The layout for a session on ``providers`` on a machine with ``cores`` physical cores."""
    if any(provider != _CPU for provider in providers) or cores <= 1:
        # An accelerator runs one batch at a time (its host thread only waits on it); one
        # core has nothing to put side by side.
        return RunLayout(slots=1, background_slots=1, side_by_side=False)
    return RunLayout(slots=cores, background_slots=cores, side_by_side=True)


class EmbeddingRun:
    """The work of one model's batches: chooses the session for each run, counts its rows.

    ``wide`` runs on every core, ``narrow`` (None: no side-by-side runs) on the calling
    thread; ``on_run(rows, side_by_side)`` is told of each run. Safe to call from several
    executor slots at once.
    """

    def __init__(
        self,
        wide: OnnxRun,
        narrow: OnnxRun | None,
        on_run: Callable[[int, bool], None],
        *,
        window: float = SIDE_BY_SIDE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wide, self._narrow, self._on_run = wide, narrow, on_run
        self._window, self._clock = window, clock
        self._lock = threading.Lock()
        self._running = 0  # foreground runs in progress
        self._overlapped_at = -float("inf")

    def __call__(self, feeds: Feeds, token: CancelToken) -> list[np.ndarray[Any, Any]]:
        # Only foreground runs of a layout with side-by-side runs choose; they are counted
        # while in progress, to see overlaps.
        choosing = self._narrow is not None and current_lane() is not Lane.BACKGROUND
        with self._lock:
            run = self._choose(choosing)
        try:
            self._on_run(len(feeds["input_ids"]), run is not self._wide)
            return run(feeds, token)
        finally:
            if choosing:
                with self._lock:
                    self._running -= 1
                    if self._running:
                        self._overlapped_at = self._clock()

    def _choose(self, choosing: bool) -> OnnxRun:
        """The session for a run starting now (lock held)."""
        if not choosing:
            run = self._narrow or self._wide
        else:
            now = self._clock()
            self._running += 1
            if self._running > 1:
                self._overlapped_at = now
            side_by_side = now - self._overlapped_at < self._window
            run = self._narrow if side_by_side and self._narrow is not None else self._wide
        return run
