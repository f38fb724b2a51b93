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
from ainos.protocol.processes import (
    AIProcess,
    DetectionSource,
    ProcessEvent,
    ProcessEventKind,
    ProcessScan,
)
from ainos.protocol.telemetry import CpuStats, GpuStats, StatsSnapshot

__all__ = [
    "AIProcess",
    "CandidateVerdict",
    "CpuStats",
    "DetectionSource",
    "Device",
    "DeviceKind",
    "EpDevice",
    "GpuStats",
    "JobRequirements",
    "Placement",
    "PlacementPolicy",
    "ProcessEvent",
    "ProcessEventKind",
    "ProcessScan",
    "StatsSnapshot",
]
