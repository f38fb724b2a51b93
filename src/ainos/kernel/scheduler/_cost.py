"""Run time as a function of rows, learned from the runs an executor finishes."""

from __future__ import annotations

from collections import deque

__all__ = ["CostModel"]

_SAMPLES = 32


_MAX_ROWS = 1 << 30


class CostModel:
    """``time(rows) = overhead + per_row * rows``, a least-squares fit over recent runs of one
    batch key (a fixed cost per run matters: cutting work into small chunks pays it often).

    Every finished run is added, but the fit is only read while realtime work is about (to
    size chunks): it is computed when read, not on each run's path."""

    def __init__(self) -> None:
        self._samples: deque[tuple[int, float]] = deque(maxlen=_SAMPLES)
        self._fit: tuple[float, float] | None = (0.0, 0.0)  # (per_row, overhead); None: stale

    def add(self, rows: int, seconds: float) -> None:
        if rows <= 0 or seconds <= 0:
            return
        self._samples.append((rows, seconds))
        self._fit = None

    @property
    def per_row(self) -> float:
        return self._fitted()[0]

    @property
    def overhead(self) -> float:
        return self._fitted()[1]

    def rows_within(self, seconds: float) -> int:
        """The most rows expected to run within ``seconds`` (may be 0)."""
        per_row, overhead = self._fitted()
        if per_row <= 0:
            return 0
        rows = (seconds - overhead) / per_row + 1e-9  # float noise
        # A vanishing measured cost (a clock tick of zero) must not become an infinite bound.
        return max(0, int(min(rows, _MAX_ROWS)))

    def _fitted(self) -> tuple[float, float]:
        if self._fit is None:
            self._fit = _least_squares(self._samples)
        return self._fit


def _least_squares(samples: deque[tuple[int, float]]) -> tuple[float, float]:
    """(per_row, overhead) over ``samples`` (at least one)."""
    n = len(samples)
    mean_r = sum(r for r, _ in samples) / n
    mean_t = sum(t for _, t in samples) / n
    var = sum((r - mean_r) ** 2 for r, _ in samples)
    if var > 0:
        slope = sum((r - mean_r) * (t - mean_t) for r, t in samples) / var
        intercept = mean_t - slope * mean_r
        if slope > 0 and intercept >= 0:
            return slope, intercept
    # One size seen so far (or a noisy fit): charge everything per row.
    return sum(t / r for r, t in samples) / n, 0.0
