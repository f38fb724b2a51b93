"""CPU time read around a measurement: of the processes measured, and of the whole machine
(the rest of it is the noise a report shows beside its figures)."""

from __future__ import annotations

import platform
from collections.abc import Sequence

import psutil

__all__ = ["cpu_model", "machine_busy_seconds", "process_cpu_seconds"]


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling since boot. Guest time is already
    in user time, and steal time is the hypervisor running someone else."""
    times = psutil.cpu_times()
    left_out = ("idle", "iowait", "steal", "guest", "guest_nice")
    return float(sum(times)) - sum(getattr(times, name, 0.0) for name in left_out)


def process_cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def cpu_model() -> str:
    """The processor's name, as ``/proc/cpuinfo`` gives it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
