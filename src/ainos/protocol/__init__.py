"""Typed records shared by all layers. Pure data: no I/O, no imports from other layers.

Imports are lazy (PEP 562): building a record class costs pydantic a few milliseconds, and a
command such as ``ainos stats`` needs only the telemetry records, not all of them.
"""

from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "AIProcess": "processes",
    "CandidateVerdict": "devices",
    "ClientIdentity": "scheduler",
    "CpuStats": "telemetry",
    "DetectionSource": "processes",
    "Device": "devices",
    "DeviceKind": "devices",
    "EpDevice": "devices",
    "ExecutorStats": "scheduler",
    "GpuStats": "telemetry",
    "GpuUtilLimit": "scheduler",
    "JobRequirements": "devices",
    "JobSpec": "scheduler",
    "JobState": "scheduler",
    "LatencySummary": "scheduler",
    "LoadedModel": "models",
    "MemoryPoolStats": "memory",
    "ModelFormat": "models",
    "ModelInfo": "models",
    "ModelSource": "models",
    "ModelTask": "models",
    "ModelVariant": "models",
    "PinnedHandle": "memory",
    "Placement": "devices",
    "PlacementPolicy": "devices",
    "Priority": "scheduler",
    "ProcessEvent": "processes",
    "ProcessEventKind": "processes",
    "ProcessScan": "processes",
    "QueueStats": "scheduler",
    "SchedulerStats": "scheduler",
    "StatsSnapshot": "telemetry",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

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
