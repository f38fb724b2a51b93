from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from ainos.kernel import nvml as nvml_module
from ainos.kernel.nvml import (
    SLOW_FIELDS,
    SlowField,
    SlowReading,
    open_nvml,
    throttle_reason_names,
)

# The machines this suite runs on have none; where one is, these paths are not taken.
without_nvidia_driver = pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists(), reason="an NVIDIA driver is present on this machine"
)


def test_no_pynvml_driver_means_no_gpus(fake_pynvml_factory: Any) -> None:
    assert open_nvml(fake_pynvml_factory(init_error=9)) is None


@without_nvidia_driver
def test_real_pynvml_without_a_driver_means_no_gpus() -> None:
    # The machines this suite runs on have no NVIDIA driver: the real library must say so
    # quietly, which is the path every CLI command takes here.
    assert open_nvml() is None


@without_nvidia_driver
def test_without_the_driver_library_pynvml_is_not_even_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    assert open_nvml() is None
    assert "pynvml" not in sys.modules


@without_nvidia_driver
def test_past_the_library_check_pynvml_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine whose library loads but whose driver does not answer: still no GPUs.
    monkeypatch.setattr(nvml_module, "_driver_library_loads", lambda: True)
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    assert open_nvml() is None
    assert "pynvml" in sys.modules


def test_devices_are_described_from_nvml(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    (device,) = nvml.devices()
    assert device.id == "gpu:0"
    assert device.kind == "gpu"
    assert device.memory_total_bytes == 40 * 2**30
    assert device.compute_capability == "8.0"
    assert device.power_limit_watts == 400.0
    assert device.pci_bus_id == "00000000:01:00.0"
    assert device.driver_version == "580.65.06"


def test_sample_reads_every_field_in_bytes_and_watts(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    (gpu,) = nvml.sample()
    assert gpu.utilization_percent == 35
    assert gpu.memory_used_bytes == 10 * 2**30
    assert gpu.power_watts == 150.0
    assert gpu.temperature_celsius == 61
    assert (gpu.sm_clock_mhz, gpu.memory_clock_mhz) == (1410, 1215)
    assert gpu.pcie_rx_bytes_per_second == 2048 * 1024
    assert gpu.throttle_reasons == ["sw_power_cap", "sw_thermal_slowdown"]
    assert (gpu.ecc_errors_corrected, gpu.ecc_errors_uncorrected) == (3, 0)
    assert gpu.power_limit_watts == 400.0
    assert gpu.slow_field_ages_seconds is None  # read just now, not taken from elsewhere


def test_unsupported_fields_are_absent_not_zero(
    fake_pynvml_factory: Any, fake_gpu_factory: Any
) -> None:
    gpu = fake_gpu_factory(unsupported={"power", "ecc", "pcie", "throttle"})
    nvml = open_nvml(fake_pynvml_factory([gpu]))
    assert nvml is not None
    (stats,) = nvml.sample()
    assert stats.power_watts is None
    assert stats.ecc_errors_corrected is None
    assert stats.pcie_tx_bytes_per_second is None
    assert stats.throttle_reasons is None
    assert "power_watts" not in stats.to_dict()
    assert stats.temperature_celsius == 61  # the rest is still read


def test_compute_processes_sum_memory_across_gpus(
    fake_pynvml_factory: Any, fake_gpu_factory: Any
) -> None:
    gpus = [
        fake_gpu_factory(processes=[(100, 2**30), (200, None)]),
        fake_gpu_factory(processes=[(100, 2**29)]),
    ]
    nvml = open_nvml(fake_pynvml_factory(gpus))
    assert nvml is not None
    assert nvml.compute_processes() == {100: 2**30 + 2**29, 200: None}


def test_close_shuts_nvml_down(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    nvml.close()
    assert fake_pynvml.shutdowns == 1


def test_throttle_reason_names() -> None:
    assert throttle_reason_names(0) == []
    assert throttle_reason_names(0x1 | 0x40) == ["gpu_idle", "hw_thermal_slowdown"]


def test_what_never_changes_is_read_once(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    for _ in range(3):
        nvml.sample([{}])
    nvml.devices()
    for function in ("nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetPciInfo"):
        assert fake_pynvml.calls[function] == 1
    assert fake_pynvml.calls["nvmlSystemGetDriverVersion"] == 1
    assert fake_pynvml.calls["nvmlDeviceGetCudaComputeCapability"] == 1
    assert fake_pynvml.calls["nvmlDeviceGetUtilizationRates"] == 3


def test_a_sample_given_slow_readings_makes_no_slow_call_and_says_their_age(
    fake_pynvml: Any,
) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    readings: dict[SlowField, SlowReading] = {
        "pcie_rx_bytes_per_second": SlowReading(4096, read_at=100.0),
        "ecc_errors_corrected": SlowReading(None, read_at=98.5),  # read: not offered
    }
    (gpu,) = nvml.sample([readings], now=100.25)
    assert fake_pynvml.calls["nvmlDeviceGetPcieThroughput"] == 0
    assert fake_pynvml.calls["nvmlDeviceGetTotalEccErrors"] == 0
    assert fake_pynvml.calls["nvmlDeviceGetEnforcedPowerLimit"] == 0
    assert gpu.pcie_rx_bytes_per_second == 4096
    assert gpu.pcie_tx_bytes_per_second is None  # not read yet: absent, and no age
    assert gpu.ecc_errors_corrected is None
    assert gpu.slow_field_ages_seconds == {
        "pcie_rx_bytes_per_second": 0.25,
        "ecc_errors_corrected": 1.75,
    }
    assert gpu.utilization_percent == 35  # the quick fields are read now


def test_each_slow_field_is_one_call(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    values = {name: nvml.read_slow_field(0, name) for name in SLOW_FIELDS}
    assert values == {
        "pcie_rx_bytes_per_second": 2048 * 1024,
        "pcie_tx_bytes_per_second": 1024 * 1024,
        "ecc_errors_corrected": 3,
        "ecc_errors_uncorrected": 0,
        "power_limit_watts": 400.0,
    }
    assert fake_pynvml.calls["nvmlDeviceGetPcieThroughput"] == 2


def test_every_call_can_be_timed(fake_pynvml: Any) -> None:
    nvml = open_nvml(fake_pynvml)
    assert nvml is not None
    timed: list[tuple[str, float]] = []
    nvml.on_call = lambda function, seconds: timed.append((function, seconds))
    nvml.sample([{}])
    nvml.read_slow_field(0, "power_limit_watts")
    names = [function for function, _ in timed]
    assert names.count("nvmlDeviceGetClockInfo") == 2
    assert names[-1] == "nvmlDeviceGetEnforcedPowerLimit"
    assert all(seconds >= 0 for _, seconds in timed)


def test_a_lost_gpu_reads_as_absent_fields(fake_pynvml_factory: Any, fake_gpu_factory: Any) -> None:
    gpu = fake_gpu_factory()
    nvml = open_nvml(fake_pynvml_factory([gpu], latencies={}))
    assert nvml is not None
    gpu.lost = True
    (stats,) = nvml.sample()
    assert stats.name == "NVIDIA Fake A100"  # known from when it was there
    assert stats.utilization_percent is None
    assert stats.pcie_rx_bytes_per_second is None
