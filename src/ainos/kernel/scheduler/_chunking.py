"""How many rows a chunk of cuttable work may take, so realtime work never waits long."""

from __future__ import annotations

from dataclasses import dataclass

from ._arrivals import ArrivalPredictor
from ._cost import CostModel

__all__ = ["ChunkController", "ChunkPlan"]

_UNBOUNDED_AFTER = 1 << 16  # rows: once the adaptive limit grows past this, it is lifted
_MARGIN = 0.001  # seconds kept free before an expected realtime arrival
# A key whose runs were aborted this many times in a row, none finishing, gets its next chunk
# protected: it runs to the end (ChunkController.plan sizes it). Without it, realtime work
# that leaves no gap a chunk fits in (requests too frequent or too irregular to predict)
# aborts every chunk and the work never advances, however it ages.
_ABORTS_BEFORE_PROTECTION = 3


@dataclass(frozen=True)
class ChunkPlan:
    """``rows``: the most rows the next chunk may take (None: no bound). ``hold_until``: if
    set, start nothing cuttable before then (a realtime request is due)."""

    rows: int | None
    hold_until: float | None = None
    protected: bool = False  # run it to the end: aborting it again would starve its key


class ChunkController:
    """Per executor, how big a chunk of non-realtime work may be while realtime clients are
    active (a realtime request seen within ``realtime_window``):

    - at most ``max_hold`` of expected run time, from a cost model learned per batch key;
    - at most an adaptive limit that halves whenever realtime work still waited longer than
      ``max_hold`` (or had to abort a chunk of work not yet measured) and grows back while
      no realtime client is active (``max_hold=None``: neither bound, work is not cut);
      a realtime request that found the device free only because a chunk was aborted for
      it says nothing about chunk size, so it does not grow the limit;
    - after ``_ABORTS_BEFORE_PROTECTION`` aborts in a row of a key: one protected chunk, so
      work advances even when realtime requests leave no gap: sized to the predicted gap
      where there is one, else ``min_rows`` rows (realtime then waits at most that small
      chunk, once in so many requests);
    - for abortable work when realtime requests come at a steady rate: sized to end just
      before the next one is due, and nothing started when not even ``min_rows`` fit; so the
      request finds the device free and no work is thrown away. An early request still
      preempts.
    """

    def __init__(
        self, max_hold: float | None, min_rows: int, realtime_window: float, predict: bool
    ) -> None:
        self._max_hold = max_hold
        self._min_rows = min_rows
        self._window = realtime_window
        self._predict = predict
        self._costs: dict[str | None, CostModel] = {}
        self._arrivals = ArrivalPredictor()
        self._limit: int | None = None
        self._last_realtime: float | None = None
        self._aborts_in_a_row: dict[str | None, int] = {}
        self._aborted_since_dispatch = False

    @property
    def limit(self) -> int | None:
        return self._limit

    def realtime_seen(self, now: float) -> None:
        self._last_realtime = now
        self._arrivals.add(now)

    def realtime_active(self, now: float) -> bool:
        return self._last_realtime is not None and now - self._last_realtime <= self._window

    def cost(self, key: str | None) -> CostModel | None:
        """Run time by rows for ``key``, as measured on this executor (None: no run yet)."""
        return self._costs.get(key)

    def observe(self, key: str | None, rows: int, run_time: float) -> None:
        cost = self._costs.get(key)
        if cost is None:
            cost = self._costs[key] = CostModel()
        cost.add(rows, run_time)
        self._aborts_in_a_row.pop(key, None)

    def observe_aborted(self, key: str | None, rows: int) -> None:
        """A run of ``rows`` rows was aborted to make way. Until a run of ``key`` has ended
        there is no cost to bound chunks by, so halve the bound instead."""
        self._aborts_in_a_row[key] = self._aborts_in_a_row.get(key, 0) + 1
        self._aborted_since_dispatch = True
        if key not in self._costs and self._max_hold is not None:
            self._halve(rows)

    def realtime_dispatched(self, waited: float, behind_rows: int) -> None:
        """A realtime job that found its slot taken by a chunk of ``behind_rows`` rows starts
        after ``waited`` seconds: halve the bound if that broke ``max_hold``, else grow it by
        one row (additive increase, multiplicative decrease)."""
        made_way = self._aborted_since_dispatch
        self._aborted_since_dispatch = False
        if self._max_hold is None:
            return
        if waited > self._max_hold:
            self._halve(behind_rows)
        elif self._limit is not None and not made_way:
            self._limit += 1

    def quiet(self, now: float) -> None:
        """A chunk finished with no realtime client active: let chunks grow back."""
        if self._limit is not None and not self.realtime_active(now):
            grown = self._limit * 2
            self._limit = None if grown > _UNBOUNDED_AFTER else grown

    def plan(
        self, key: str | None, now: float, *, per_row_hint: float | None, abortable: bool
    ) -> ChunkPlan:
        """Bounds for the next chunk of ``key`` (``per_row_hint``: the client's estimate of
        the time per row, used until runs are measured)."""
        if not self.realtime_active(now):
            return ChunkPlan(self._limit)
        starving = abortable and self._aborts_in_a_row.get(key, 0) >= _ABORTS_BEFORE_PROTECTION
        # Where no gap can be predicted, a starving key's protected chunk is the smallest.
        fallback = ChunkPlan(self._min_rows, protected=True) if starving else None
        cost = self._costs.get(key)
        if cost is None and per_row_hint is not None:
            cost = CostModel()
            cost.add(1, per_row_hint)
        bound = self._limit
        if cost is None:
            return fallback or ChunkPlan(bound)
        if self._max_hold is not None:
            bound = _least(bound, max(self._min_rows, cost.rows_within(self._max_hold)))
        expected = self._arrivals.expected(now) if self._predict and abortable else None
        if expected is None:
            return fallback or ChunkPlan(bound)
        due, jitter, period = expected
        if cost.rows_within(period - 2 * jitter - _MARGIN) < self._min_rows:
            return fallback or ChunkPlan(bound)  # not even a small chunk fits between requests
        fit = cost.rows_within(due - jitter - _MARGIN - now)
        if fit < self._min_rows:
            return ChunkPlan(0, due + jitter + _MARGIN)
        # Abortable work that ends before the request is due needs no max_hold: a request
        # that comes early preempts it; unless the key is starving, and then it waits for a
        # chunk planned to end before it was due.
        return ChunkPlan(_least(self._limit, fit), protected=starving)

    def _halve(self, rows: int) -> None:
        base = rows if self._limit is None else min(self._limit, rows)
        self._limit = max(self._min_rows, base // 2)


def _least(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)
