"""Devices as ONNX Runtime's execution-provider registry sees them."""

from __future__ import annotations

import importlib
from typing import Any

from ainos.protocol import DeviceKind, EpDevice

_KINDS = {"CPU": DeviceKind.CPU, "GPU": DeviceKind.GPU, "NPU": DeviceKind.NPU}


def _onnxruntime() -> Any | None:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        return None


def ep_devices() -> list[EpDevice]:
    """``onnxruntime.get_ep_devices()`` as records; empty where this ONNX Runtime lacks it."""
    ort = _onnxruntime()
    if ort is None or not hasattr(ort, "get_ep_devices"):
        return []
    records = []
    for ep_device in ort.get_ep_devices():
        hardware = ep_device.device
        records.append(
            EpDevice(
                ep_name=ep_device.ep_name,
                ep_vendor=ep_device.ep_vendor,
                device_type=_KINDS.get(hardware.type.name, DeviceKind.CPU),
                vendor=hardware.vendor,
                vendor_id=hardware.vendor_id,
                device_id=hardware.device_id,
                ep_metadata=dict(ep_device.ep_metadata),
                device_metadata=dict(hardware.metadata),
            )
        )
    return records


def available_providers() -> list[str]:
    """The execution providers this ONNX Runtime build can use."""
    ort = _onnxruntime()
    return list(ort.get_available_providers()) if ort is not None else []
