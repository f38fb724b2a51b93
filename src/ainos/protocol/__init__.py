"""Typed records shared by all layers. Pure data: no I/O, no imports from other layers."""

from ainos.protocol.devices import (
    CandidateVerdict,
    Device,
    DeviceKind,
    EpDevice,
    JobRequirements,
    Placement,
    PlacementPolicy,
)
from ainos.protocol.memory import MemoryPoolStats, PinnedHandle
from ainos.protocol.models import (
    LoadedModel,
    ModelFormat,
    ModelInfo,
    ModelSource,
    ModelTask,
    ModelVariant,
)
from ainos.protocol.processes import (
    AIProcess,
    DetectionSource,
    ProcessEvent,
    ProcessEventKind,
    ProcessScan,
)
from ainos.protocol.scheduler import (
    ClientIdentity,
    ExecutorStats,
    GpuUtilLimit,
    JobSpec,
    JobState,
    LatencySummary,
    Priority,
    QueueStats,
    SchedulerStats,
)
from ainos.protocol.telemetry import CpuStats, GpuStats, StatsSnapshot

__all__ = [
    "AIProcess",
    "CandidateVerdict",
    "ClientIdentity",
    "CpuStats",
    "DetectionSource",
    "Device",
    "DeviceKind",
    "EpDevice",
    "ExecutorStats",
    "GpuStats",
    "GpuUtilLimit",
    "JobRequirements",
    "JobSpec",
    "JobState",
    "LatencySummary",
    "LoadedModel",
    "MemoryPoolStats",
    "ModelFormat",
    "ModelInfo",
    "ModelSource",
    "ModelTask",
    "ModelVariant",
    "PinnedHandle",
    "Placement",
    "PlacementPolicy",
    "Priority",
    "ProcessEvent",
    "ProcessEventKind",
    "ProcessScan",
    "QueueStats",
    "SchedulerStats",
    "StatsSnapshot",
]
