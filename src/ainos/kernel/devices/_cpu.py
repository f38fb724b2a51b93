"""The host CPU as a compute device."""

from __future__ import annotations

import platform
from pathlib import Path

import psutil

from ainos.protocol import Device, DeviceKind

_CPUINFO = Path("/proc/cpuinfo")


def _cpu_identity() -> tuple[str, str]:
    """(model name, vendor) from /proc/cpuinfo where Linux offers it."""
    model, vendor = "", ""
    try:
        with _CPUINFO.open() as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model") and not model:
                    model = value.strip()
                elif key == "vendor_id" and not vendor:
                    vendor = value.strip()
                if model and vendor:
                    break
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), vendor or "unknown"


_VENDOR_NAMES = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}


def cpu_device() -> Device:
    model, vendor = _cpu_identity()
    return Device(
        id="cpu:0",
        kind=DeviceKind.CPU,
        index=0,
        name=model,
        vendor=_VENDOR_NAMES.get(vendor, vendor),
        source="psutil",
        memory_total_bytes=psutil.virtual_memory().total,
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True),
    )
