"""Execution providers: which ONNX Runtime EPs this machine can use, and choosing them by
policy (Windows ML's EP device policies, with ONNX Runtime's names).

Where ONNX Runtime can select devices itself (``SessionOptions.set_provider_selection_policy``
over ``get_ep_devices()``), the policy is handed to it; otherwise an explicit provider list
is ranked for the policy. Either way the CPU is the last resort, and falling back to it is
reported, never silent.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ainos.protocol import DeviceKind

__all__ = [
    "ExecutionProviderInfo",
    "ProviderPolicy",
    "ProviderSelection",
    "apply_provider_policy",
    "execution_provider_catalog",
]

CPU = "CPUExecutionProvider"


class ProviderPolicy(StrEnum):
    """ONNX Runtime's ``OrtExecutionProviderDevicePolicy`` values."""

    DEFAULT = "DEFAULT"
    PREFER_CPU = "PREFER_CPU"
    PREFER_NPU = "PREFER_NPU"
    PREFER_GPU = "PREFER_GPU"
    MAX_PERFORMANCE = "MAX_PERFORMANCE"
    MAX_EFFICIENCY = "MAX_EFFICIENCY"
    MIN_OVERALL_POWER = "MIN_OVERALL_POWER"


# The device kind each known EP drives, for ranking without ONNX Runtime's own selection.
_EP_KINDS: dict[str, DeviceKind] = {
    "TensorrtExecutionProvider": DeviceKind.GPU,
    "CUDAExecutionProvider": DeviceKind.GPU,
    "MIGraphXExecutionProvider": DeviceKind.GPU,
    "ROCMExecutionProvider": DeviceKind.GPU,
    "DmlExecutionProvider": DeviceKind.GPU,
    "WebGpuExecutionProvider": DeviceKind.GPU,
    "CoreMLExecutionProvider": DeviceKind.NPU,
    "QNNExecutionProvider": DeviceKind.NPU,
    "VitisAIExecutionProvider": DeviceKind.NPU,
    "OpenVINOExecutionProvider": DeviceKind.NPU,
    "RknpuExecutionProvider": DeviceKind.NPU,
    "NnapiExecutionProvider": DeviceKind.NPU,
    "DnnlExecutionProvider": DeviceKind.CPU,
    "XnnpackExecutionProvider": DeviceKind.CPU,
    CPU: DeviceKind.CPU,
}

# Preference order of device kinds per policy (the CPU always closes the list).
_KIND_ORDER: dict[ProviderPolicy, tuple[DeviceKind, ...]] = {
    ProviderPolicy.DEFAULT: (DeviceKind.CPU,),
    ProviderPolicy.PREFER_CPU: (DeviceKind.CPU,),
    ProviderPolicy.PREFER_NPU: (DeviceKind.NPU, DeviceKind.CPU),
    ProviderPolicy.PREFER_GPU: (DeviceKind.GPU, DeviceKind.CPU),
    ProviderPolicy.MAX_PERFORMANCE: (DeviceKind.GPU, DeviceKind.NPU, DeviceKind.CPU),
    ProviderPolicy.MAX_EFFICIENCY: (DeviceKind.NPU, DeviceKind.CPU),
    ProviderPolicy.MIN_OVERALL_POWER: (DeviceKind.NPU, DeviceKind.CPU),
}

# Providers that exist in a build but are not local compute (a remote endpoint).
_NOT_LOCAL = {"AzureExecutionProvider"}


@dataclass(frozen=True)
class ExecutionProviderInfo:
    """One EP as an ``ExecutionProviderCatalog`` entry: what it drives and whether it is ready."""

    name: str
    device_kind: DeviceKind | None
    ready: bool
    devices: list[str] = field(default_factory=list)  # "vendor type" of each EP device
    reason: str = ""


@dataclass(frozen=True)
class ProviderSelection:
    policy: ProviderPolicy
    providers: list[str]
    by_onnxruntime: bool  # ONNX Runtime's own device selection was used
    fallback: bool
    reason: str


def _ort() -> Any:
    return importlib.import_module("onnxruntime")


def execution_provider_catalog() -> list[ExecutionProviderInfo]:
    """Every EP this ONNX Runtime knows, with its ready state on this machine."""
    ort = _ort()
    available = set(ort.get_available_providers())
    devices: dict[str, list[str]] = {}
    if hasattr(ort, "get_ep_devices"):
        for ep_device in ort.get_ep_devices():
            devices.setdefault(ep_device.ep_name, []).append(
                f"{ep_device.device.vendor} {ep_device.device.type.name}"
            )
    catalog = []
    for name in ort.get_all_providers():
        if name in _NOT_LOCAL:
            reason = "a remote endpoint, not local compute"
            ready = False
        elif name not in available:
            reason = "not in this ONNX Runtime build"
            ready = False
        else:
            ready = True
            reason = "ready"
        catalog.append(
            ExecutionProviderInfo(name, _EP_KINDS.get(name), ready, devices.get(name, []), reason)
        )
    return catalog


def _ranked(policy: ProviderPolicy, ready: list[str]) -> list[str]:
    order = _KIND_ORDER[policy]
    ranked = [p for kind in order for p in ready if _EP_KINDS.get(p) is kind and p != CPU]
    return [*ranked, CPU]


def apply_provider_policy(options: Any, policy: ProviderPolicy) -> ProviderSelection:
    """Configure ``options`` (an ``onnxruntime.SessionOptions``) for ``policy``.

    Returns the provider list to pass to ``InferenceSession`` (empty when ONNX Runtime
    selects devices itself) and how the choice was made.
    """
    ort = _ort()
    ready = [p for p in ort.get_available_providers() if p not in _NOT_LOCAL and p in _EP_KINDS]
    wanted_kinds = _KIND_ORDER[policy]
    accelerated = [
        p for p in ready if _EP_KINDS[p] in wanted_kinds and _EP_KINDS[p] is not DeviceKind.CPU
    ]
    wants_accelerator = wanted_kinds[0] is not DeviceKind.CPU
    ep_devices = list(ort.get_ep_devices()) if hasattr(ort, "get_ep_devices") else []
    if (
        hasattr(options, "set_provider_selection_policy")
        and ep_devices
        and (accelerated or not wants_accelerator)
    ):
        options.set_provider_selection_policy(
            getattr(ort.OrtExecutionProviderDevicePolicy, policy.value)
        )
        return ProviderSelection(
            policy,
            [],
            by_onnxruntime=True,
            fallback=False,
            reason=f"ONNX Runtime selects among {len(ep_devices)} EP devices by {policy.value}",
        )
    providers = _ranked(policy, ready)
    fallback = wants_accelerator and providers == [CPU]
    wanted = "/".join(kind.value.upper() for kind in wanted_kinds if kind is not DeviceKind.CPU)
    reason = (
        f"no {wanted} execution provider is ready here: falling back to the CPU"
        if fallback
        else f"{policy.value}: {', '.join(providers)}"
    )
    return ProviderSelection(
        policy, providers, by_onnxruntime=False, fallback=fallback, reason=reason
    )
