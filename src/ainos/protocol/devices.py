"""Compute devices, ONNX Runtime EP devices, and placement of a job on a device."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, StrictInt

from ainos.protocol._base import Record

__all__ = [
    "CandidateVerdict",
    "Device",
    "DeviceKind",
    "EpDevice",
    "JobRequirements",
    "Placement",
    "PlacementPolicy",
]


class DeviceKind(StrEnum):
    CPU = "cpu"
    GPU = "gpu"
    NPU = "npu"


class Device(Record):
    """One compute device. ``id`` is stable for the machine's life: ``cpu:0``, ``gpu:<index>``."""

    id: str
    kind: DeviceKind
    index: int
    name: str
    vendor: str
    source: str = Field(description="Where the facts come from: psutil, nvml, …")
    memory_total_bytes: int | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    uuid: str | None = None
    pci_bus_id: str | None = None
    driver_version: str | None = None
    compute_capability: str | None = None
    power_limit_watts: float | None = None


class EpDevice(Record):
    """A device as ONNX Runtime's execution-provider registry sees it (``get_ep_devices``)."""

    ep_name: str
    ep_vendor: str
    device_type: DeviceKind
    vendor: str
    vendor_id: int
    device_id: int
    ep_metadata: dict[str, str] = Field(default_factory=dict)
    device_metadata: dict[str, str] = Field(default_factory=dict)


class PlacementPolicy(StrEnum):
    """How to choose among devices that can hold a job."""

    MAX_PERFORMANCE = "max-performance"
    MIN_POWER = "min-power"
    PREFER_CPU = "prefer-cpu"
    PREFER_GPU = "prefer-gpu"


class JobRequirements(Record):
    """What a job needs from a device (IOCTL_AI_GET_OPTIMIZED_GPU_PATH's input)."""

    # Strict and int64 like every size of the control plane (see protocol.control).
    memory_bytes: StrictInt = Field(default=0, ge=0, le=2**63 - 1)
    preferred_kind: DeviceKind | None = None
    policy: PlacementPolicy = PlacementPolicy.MAX_PERFORMANCE


class CandidateVerdict(Record):
    """Why one device was or was not suitable."""

    device_id: str
    eligible: bool
    reason: str
    free_memory_bytes: int | None = None
    utilization_percent: float | None = None


class Placement(Record):
    """The chosen device and the reasoning behind the choice."""

    device: Device
    reason: str
    fallback: bool = Field(
        default=False, description="True when the preferred kind could not take the job."
    )
    candidates: list[CandidateVerdict] = Field(default_factory=list)
