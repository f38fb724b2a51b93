from __future__ import annotations

from typing import Any

import pytest

from ainos.errors import DeviceError, NotFound
from ainos.kernel.devices import DeviceInventory, DeviceState, cpu_device, optimized_path
from ainos.kernel.nvml import open_nvml
from ainos.protocol import Device, DeviceKind, JobRequirements, PlacementPolicy

GIB = 2**30


def _gpu(index: int, power_limit: float = 300.0) -> Device:
    return Device(
        id=f"gpu:{index}",
        kind=DeviceKind.GPU,
        index=index,
        name="gpu",
        vendor="NVIDIA",
        source="test",
        power_limit_watts=power_limit,
    )


CPU = cpu_device()


def test_cpu_device_describes_this_machine() -> None:
    import psutil

    assert CPU.id == "cpu:0"
    assert CPU.logical_cores == psutil.cpu_count()
    assert CPU.memory_total_bytes == psutil.virtual_memory().total
    assert CPU.name


def test_inventory_without_nvml_is_the_cpu_alone() -> None:
    inventory = DeviceInventory(None)
    assert inventory.ids() == ["cpu:0"]
    assert inventory.free_memory("cpu:0") is not None
    with pytest.raises(NotFound, match="gpu:3"):
        inventory.free_memory("gpu:3")


def test_inventory_lists_onnxruntime_cpu_ep() -> None:
    inventory = DeviceInventory(None)
    assert "CPUExecutionProvider" in inventory.execution_providers()
    eps = inventory.ep_devices()
    assert any(ep.ep_name == "CPUExecutionProvider" and ep.device_type == "cpu" for ep in eps)


def test_inventory_with_fake_gpus_places_on_the_gpu(fake_pynvml: Any) -> None:
    inventory = DeviceInventory(open_nvml(fake_pynvml))
    assert inventory.ids() == ["cpu:0", "gpu:0"]
    placement = inventory.optimized_path(JobRequirements(memory_bytes=GIB))
    assert placement.device.id == "gpu:0"
    assert not placement.fallback
    gpu_verdict = next(c for c in placement.candidates if c.device_id == "gpu:0")
    assert gpu_verdict.free_memory_bytes == 30 * GIB
    assert gpu_verdict.utilization_percent == 35


def test_max_performance_prefers_the_least_busy_gpu() -> None:
    states = [
        DeviceState(CPU, 20 * GIB),
        DeviceState(_gpu(0), 10 * GIB, 90.0),
        DeviceState(_gpu(1), 8 * GIB, 10.0),
    ]
    placement = optimized_path(JobRequirements(memory_bytes=GIB), states)
    assert placement.device.id == "gpu:1"
    assert "max-performance" in placement.reason


def test_prefer_gpu_takes_the_most_free_memory() -> None:
    states = [DeviceState(_gpu(0), 10 * GIB, 90.0), DeviceState(_gpu(1), 8 * GIB, 10.0)]
    policy = PlacementPolicy.PREFER_GPU
    assert optimized_path(JobRequirements(policy=policy), states).device.id == "gpu:0"


def test_memory_requirement_excludes_devices_and_says_why() -> None:
    states = [DeviceState(CPU, 20 * GIB), DeviceState(_gpu(0), 2 * GIB, 0.0)]
    placement = optimized_path(JobRequirements(memory_bytes=4 * GIB), states)
    assert placement.device.id == "cpu:0"
    gpu = next(c for c in placement.candidates if c.device_id == "gpu:0")
    assert not gpu.eligible
    assert "needs 4.00 GiB, 2.00 GiB free" in gpu.reason


def test_preferred_kind_falls_back_and_reports_it() -> None:
    placement = optimized_path(
        JobRequirements(preferred_kind=DeviceKind.GPU), [DeviceState(CPU, 8 * GIB)]
    )
    assert placement.device.id == "cpu:0"
    assert placement.fallback
    assert "no eligible gpu device" in placement.reason


def test_prefer_cpu_and_min_power_keep_work_off_the_gpu() -> None:
    states = [DeviceState(_gpu(0), 10 * GIB, 0.0), DeviceState(CPU, 8 * GIB)]
    for policy in (PlacementPolicy.PREFER_CPU, PlacementPolicy.MIN_POWER):
        assert optimized_path(JobRequirements(policy=policy), states).device.id == "cpu:0"


def test_min_power_among_gpus_takes_the_lowest_power_limit() -> None:
    states = [DeviceState(_gpu(0, 450.0), GIB, 0.0), DeviceState(_gpu(1, 70.0), GIB, 0.0)]
    placement = optimized_path(JobRequirements(policy=PlacementPolicy.MIN_POWER), states)
    assert placement.device.id == "gpu:1"


def test_nothing_fits_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match=r"no device can hold this job \(cpu:0: needs"):
        optimized_path(JobRequirements(memory_bytes=64 * GIB), [DeviceState(CPU, GIB)])
