"""AI processes found on the machine and the events of their coming and going."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ainos.protocol._base import Record

__all__ = ["AIProcess", "DetectionSource", "ProcessEvent", "ProcessEventKind", "ProcessScan"]


class DetectionSource(StrEnum):
    MAPS = "maps"  # an ML runtime library is mapped into the process
    NVML = "nvml"  # the GPU driver reports the process as a compute user
    REGISTERED = "registered"  # the process announced itself to ainos


class AIProcess(Record):
    pid: int
    name: str
    user: str | None = None
    command: str
    runtimes: list[str] = Field(description="ML runtimes found in the process, sorted.")
    sources: list[DetectionSource]
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    gpu_memory_bytes: int | None = None
    started_at: float = Field(description="Process start time, seconds since the epoch.")


class ProcessScan(Record):
    """One look at the machine's processes."""

    timestamp: float
    processes: list[AIProcess]
    scanned: int = Field(description="Processes looked at.")
    permission_denied: int = Field(description="Processes skipped because the OS refused access.")
    maps_read: int = Field(description="Memory-map files read in this scan (cache misses).")


class ProcessEventKind(StrEnum):
    STARTED = "started"  # became an AI process (or started as one)
    STOPPED = "stopped"  # exited, or no longer looks like an AI process


class ProcessEvent(Record):
    kind: ProcessEventKind
    timestamp: float
    process: AIProcess
