"""Run time as a function of rows, learned from the runs an executor finishes."""

from __future__ import annotations

from collections import deque

__all__ = ["CostModel"]

_SAMPLES = 32


_MAX_ROWS = 1 << 30


class CostModel:
    """``time(rows) = overhead + per_row * rows``, a least-squares fit over recent runs of one
    batch key (a fixed cost per run matters: cutting work into small chunks pays it often)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[int, float]] = deque(maxlen=_SAMPLES)
        self.overhead = 0.0
        self.per_row = 0.0

    def add(self, rows: int, seconds: float) -> None:
        if rows <= 0 or seconds <= 0:
            return
        self._samples.append((rows, seconds))
        n = len(self._samples)
        mean_r = sum(r for r, _ in self._samples) / n
        mean_t = sum(t for _, t in self._samples) / n
        var = sum((r - mean_r) ** 2 for r, _ in self._samples)
        if var > 0:
            slope = sum((r - mean_r) * (t - mean_t) for r, t in self._samples) / var
            intercept = mean_t - slope * mean_r
            if slope > 0 and intercept >= 0:
                self.per_row, self.overhead = slope, intercept
                return
        # One size seen so far (or a noisy fit): charge everything per row.
        self.per_row = sum(t / r for r, t in self._samples) / n
        self.overhead = 0.0

    def rows_within(self, seconds: float) -> int:
        """The most rows expected to run within ``seconds`` (may be 0)."""
        if self.per_row <= 0:
            return 0
        rows = (seconds - self.overhead) / self.per_row + 1e-9  # float noise
        # A vanishing measured cost (a clock tick of zero) must not become an infinite bound.
        return max(0, int(min(rows, _MAX_ROWS)))
