"""How figures read in the live view: sizes in binary units, durations, ages."""

from __future__ import annotations

__all__ = ["age", "binary_size", "milliseconds", "percent"]


def binary_size(size: int | None) -> str:
    """``1.5 GiB``, as ``ainos stats`` and ``ps`` print sizes; ``-`` when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def milliseconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def age(since: float, now: float) -> str:
    """How long ago, in the largest unit that fits: ``42s``, ``3m``, ``5h``, ``2d``."""
    seconds = max(0, int(now - since))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
