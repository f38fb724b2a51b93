"""Device discovery and placement: which compute devices exist and where a job should run."""

from ainos.kernel.devices._cpu import cpu_device
from ainos.kernel.devices._ep import available_providers, ep_devices
from ainos.kernel.devices._inventory import DeviceInventory
from ainos.kernel.devices._placement import DeviceState, optimized_path

__all__ = [
    "DeviceInventory",
    "DeviceState",
    "available_providers",
    "cpu_device",
    "ep_devices",
    "optimized_path",
]
