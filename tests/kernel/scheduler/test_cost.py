"""The run-time model: the least-squares fit over the recent runs, a fixed cost per run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ainos.kernel.scheduler._cost import _SAMPLES, CostModel


def _reference_fit(samples: list[tuple[int, float]]) -> tuple[float, float]:
    """(per_row, overhead) over ``samples``, straight from the definition."""
    n = len(samples)
    mean_r = sum(r for r, _ in samples) / n
    mean_t = sum(t for _, t in samples) / n
    var = sum((r - mean_r) ** 2 for r, _ in samples)
    if var > 0:
        slope = sum((r - mean_r) * (t - mean_t) for r, t in samples) / var
        intercept = mean_t - slope * mean_r
        if slope > 0 and intercept >= 0:
            return slope, intercept
    return sum(t / r for r, t in samples) / n, 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 64), st.floats(1e-5, 1.0, allow_nan=False)),
        min_size=1,
        max_size=3 * _SAMPLES,
    )
)
def test_the_fit_is_the_least_squares_one_over_the_last_runs(
    runs: list[tuple[int, float]],
) -> None:
    model = CostModel()
    for rows, seconds in runs:
        model.add(rows, seconds)
    per_row, overhead = _reference_fit(runs[-_SAMPLES:])
    assert model.per_row == pytest.approx(per_row, rel=1e-6, abs=1e-12)
    assert model.overhead == pytest.approx(overhead, rel=1e-6, abs=1e-9)


def test_a_fixed_cost_per_run_is_learned_and_bounds_rows() -> None:
    model = CostModel()
    for rows in (1, 2, 4, 8, 16) * 20:  # more runs than the model keeps
        model.add(rows, 0.001 + 0.0005 * rows)
    assert model.overhead == pytest.approx(0.001)
    assert model.per_row == pytest.approx(0.0005)
    assert model.rows_within(0.006) == 10
    model.add(0, 1.0)  # ignored: no rows
    assert model.rows_within(0.0005) == 0
