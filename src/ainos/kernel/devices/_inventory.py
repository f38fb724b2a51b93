"""The machine's compute devices, discovered once and queried live."""

from __future__ import annotations

import psutil

from ainos.errors import NotFound
from ainos.kernel.devices._cpu import cpu_device
from ainos.kernel.devices._ep import available_providers, ep_devices
from ainos.kernel.devices._placement import DeviceState, optimized_path
from ainos.kernel.nvml import Nvml
from ainos.protocol import Device, DeviceKind, EpDevice, JobRequirements, Placement


class DeviceInventory:
    """CPU plus every NVIDIA GPU NVML reports (none without NVML)."""

    def __init__(self, nvml: Nvml | None = None) -> None:
        self._nvml = nvml
        self._devices = [cpu_device(), *(nvml.devices() if nvml is not None else [])]

    @property
    def devices(self) -> list[Device]:
        return list(self._devices)

    def ep_devices(self) -> list[EpDevice]:
        return ep_devices()

    def execution_providers(self) -> list[str]:
        return available_providers()

    def free_memory(self, device_id: str) -> int | None:
        """Bytes free on the device now; ``None`` where it cannot be read."""
        device = self._find(device_id)
        if device.kind is DeviceKind.CPU:
            return psutil.virtual_memory().available
        return self._nvml.free_memory(device.index) if self._nvml is not None else None

    def states(self) -> list[DeviceState]:
        states = []
        for device in self._devices:
            utilization = None
            if device.kind is DeviceKind.GPU and self._nvml is not None:
                utilization = self._nvml.utilization(device.index)
            states.append(DeviceState(device, self.free_memory(device.id), utilization))
        return states

    def optimized_path(self, requirements: JobRequirements) -> Placement:
        return optimized_path(requirements, self.states())

    def _find(self, device_id: str) -> Device:
        for device in self._devices:
            if device.id == device_id:
                return device
        raise NotFound(f"no device {device_id!r} (known: {', '.join(self.ids())})")

    def ids(self) -> list[str]:
        return [device.id for device in self._devices]
