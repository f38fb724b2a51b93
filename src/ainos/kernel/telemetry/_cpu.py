"""CPU, memory and swap readings.

On Linux the counters are parsed straight from ``/proc/stat`` and ``/proc/meminfo``: at
10 Hz the sampler's cost is dominated by these reads, and a direct parse costs a fraction
of psutil's general-purpose path (measured by ``ainos bench telemetry``). Elsewhere,
psutil provides the same readings.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from ainos.protocol import CpuStats

_PROC_STAT = Path("/proc/stat")
_PROC_MEMINFO = Path("/proc/meminfo")
_MEMINFO_FIELDS = {b"MemTotal:", b"MemFree:", b"MemAvailable:", b"SwapTotal:", b"SwapFree:"}


def _core_times(stat: bytes) -> list[tuple[int, int]]:
    """(busy, total) jiffies per core from ``/proc/stat``."""
    times = []
    for line in stat.splitlines():
        if not line.startswith(b"cpu"):
            break  # the cpu lines come first
        if line[3:4] == b" ":
            continue  # the aggregate line
        values = [int(v) for v in line.split()[1:]]
        # user nice system idle iowait irq softirq steal [guest guest_nice]: guests are
        # already counted in user/nice, so they are left out of the total.
        total = sum(values[:8])
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        times.append((total - idle, total))
    return times


def _meminfo(text: bytes) -> dict[bytes, int]:
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(b" ")
        if key in _MEMINFO_FIELDS:
            values[key] = int(rest.split()[0]) * 1024  # kB
    return values


class CpuReader:
    """Reads CPU statistics; utilisation is measured between consecutive calls."""

    def __init__(self) -> None:
        self._procfs = _PROC_STAT.exists() and _PROC_MEMINFO.exists()
        self._previous: list[tuple[int, int]] = []
        if self._procfs:
            self._previous = _core_times(_PROC_STAT.read_bytes())
        else:
            # psutil measures since its previous call: prime it so the first reading
            # covers a known interval instead of the time since boot.
            psutil.cpu_percent(percpu=True)

    def _per_core_percent(self) -> list[float]:
        if not self._procfs:
            return list(psutil.cpu_percent(percpu=True))
        current = _core_times(_PROC_STAT.read_bytes())
        percents = []
        for (busy, total), (busy_before, total_before) in zip(
            current, self._previous, strict=False
        ):
            elapsed = total - total_before
            percents.append(100.0 * (busy - busy_before) / elapsed if elapsed > 0 else 0.0)
        self._previous = current
        return percents

    def _memory(self) -> tuple[int, int, int, int, int]:
        """(total, used, available, swap total, swap used) in bytes."""
        if not self._procfs:
            memory, swap = psutil.virtual_memory(), psutil.swap_memory()
            return memory.total, memory.used, memory.available, swap.total, swap.used
        info = _meminfo(_PROC_MEMINFO.read_bytes())
        total, free = info[b"MemTotal:"], info[b"MemFree:"]
        available = info.get(b"MemAvailable:", free)  # absent before Linux 3.14
        used = total - available  # what psutil and free(1) report as used
        swap_total = info.get(b"SwapTotal:", 0)
        return total, used, available, swap_total, swap_total - info.get(b"SwapFree:", 0)

    def read(self) -> CpuStats:
        per_core = self._per_core_percent()
        total, used, available, swap_total, swap_used = self._memory()
        frequency = psutil.cpu_freq()
        return CpuStats(
            utilization_percent=sum(per_core) / len(per_core) if per_core else 0.0,
            per_core_percent=per_core,
            load_average=os.getloadavg(),
            memory_total_bytes=total,
            memory_used_bytes=used,
            memory_available_bytes=available,
            swap_total_bytes=swap_total,
            swap_used_bytes=swap_used,
            frequency_mhz=frequency.current if frequency and frequency.current > 0 else None,
        )
