"""The refresh interval: its bounds, and the steps ``+`` and ``-`` move it along."""

from __future__ import annotations

import math

from ainos.errors import InvalidArgument

__all__ = ["MAX_REFRESH_S", "MIN_REFRESH_S", "check_refresh", "faster", "slower"]

MIN_REFRESH_S = 0.1  # a look scans every process: more often would be the viewer's own load
MAX_REFRESH_S = 60.0
_STEPS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def check_refresh(seconds: float) -> float:
    if not math.isfinite(seconds) or not MIN_REFRESH_S <= seconds <= MAX_REFRESH_S:
        raise InvalidArgument(
            f"--refresh must be a number of seconds from {MIN_REFRESH_S:g} to "
            f"{MAX_REFRESH_S:g}, got {seconds:g}"
        )
    return seconds


def faster(seconds: float) -> float:
    """The next shorter step (the shortest stays)."""
    shorter = [step for step in _STEPS if step < seconds]
    return shorter[-1] if shorter else seconds


def slower(seconds: float) -> float:
    """The next longer step (the longest stays)."""
    longer = [step for step in _STEPS if step > seconds]
    return longer[0] if longer else seconds
