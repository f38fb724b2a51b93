"""What the sparklines draw: each device's utilisation and memory use over the last looks."""

from __future__ import annotations

from collections import deque

from ainos.protocol.monitor import MachineView

__all__ = ["HISTORY_POINTS", "DeviceHistory", "device_keys"]

HISTORY_POINTS = 120


def device_keys(view: MachineView) -> list[str]:
    """``cpu``, then ``gpu:0``, ``gpu:1``…: the devices of a view, as the panel names them."""
    return ["cpu", *(f"gpu:{gpu.index}" for gpu in view.stats.devices.gpus)]


class DeviceHistory:
    """Per device, the utilisation and memory-use percentages of the last ``points`` looks
    (a device that reported no figure in a look gets no point)."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self._points = points
        self._util: dict[str, deque[float]] = {}
        self._memory: dict[str, deque[float]] = {}

    def record(self, view: MachineView) -> None:
        cpu = view.stats.devices.cpu
        self._add(self._util, "cpu", cpu.utilization_percent)
        self._add(self._memory, "cpu", _share(cpu.memory_used_bytes, cpu.memory_total_bytes))
        for gpu in view.stats.devices.gpus:
            key = f"gpu:{gpu.index}"
            self._add(self._util, key, gpu.utilization_percent)
            self._add(self._memory, key, _share(gpu.memory_used_bytes, gpu.memory_total_bytes))

    def utilization(self, key: str) -> list[float]:
        return list(self._util.get(key, ()))

    def memory(self, key: str) -> list[float]:
        return list(self._memory.get(key, ()))

    def _add(self, series: dict[str, deque[float]], key: str, value: float | None) -> None:
        if value is not None:
            series.setdefault(key, deque(maxlen=self._points)).append(value)


def _share(used: int | None, total: int | None) -> float | None:
    if used is None or not total:
        return None
    return 100.0 * used / total
