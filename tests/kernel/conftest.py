"""A fake of the ``pynvml`` functions ainos calls: NVML cannot exist on machines without an
NVIDIA driver, so the NVML code paths are tested against this stand-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


NOT_SUPPORTED = 3
DRIVER_NOT_LOADED = 9


@dataclass
class FakeGpu:
    name: str = "NVIDIA Fake A100"
    uuid: str = "GPU-00000000-fake-0000-0000-000000000000"
    total: int = 40 * 2**30
    used: int = 10 * 2**30
    util: int = 35
    mem_util: int = 20
    power_mw: int = 150_000
    power_limit_mw: int = 400_000
    temperature: int = 61
    sm_clock: int = 1410
    mem_clock: int = 1215
    rx_kb: int = 2048
    tx_kb: int = 1024
    throttle: int = 0x0004 | 0x0020
    ecc: tuple[int, int] = (3, 0)
    unsupported: set[str] = field(default_factory=set)
    processes: list[tuple[int, int | None]] = field(default_factory=list)


class FakePynvml:
    """The subset of ``pynvml`` that ``ainos.kernel.nvml`` uses, with scriptable GPUs."""

    NVMLError = FakeNVMLError
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_PCIE_UTIL_TX_BYTES = 0
    NVML_PCIE_UTIL_RX_BYTES = 1
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0

    def __init__(self, gpus: list[FakeGpu] | None = None, *, init_error: int | None = None):
        self.gpus = gpus if gpus is not None else [FakeGpu()]
        self.init_error = init_error
        self.initialised = False
        self.shutdowns = 0

    def _gpu(self, handle: int, field_name: str) -> FakeGpu:
        gpu = self.gpus[handle]
        if field_name in gpu.unsupported:
            raise FakeNVMLError(NOT_SUPPORTED)
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.65.06"

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle, "name").name

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self._gpu(handle, "uuid").uuid

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "memory")
        return SimpleNamespace(total=gpu.total, used=gpu.used, free=gpu.total - gpu.used)

    def nvmlDeviceGetPciInfo(self, handle: int) -> SimpleNamespace:
        self._gpu(handle, "pci")
        return SimpleNamespace(busId=f"00000000:{handle + 1:02x}:00.0".encode())

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        self._gpu(handle, "capability")
        return (8, 0)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return self._gpu(handle, "power_limit").power_limit_mw

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "utilization")
        return SimpleNamespace(gpu=gpu.util, memory=gpu.mem_util)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return self._gpu(handle, "power").power_mw

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "temperature").temperature

    def nvmlDeviceGetClockInfo(self, handle: int, clock: int) -> int:
        gpu = self._gpu(handle, "clocks")
        return gpu.sm_clock if clock == self.NVML_CLOCK_SM else gpu.mem_clock

    def nvmlDeviceGetPcieThroughput(self, handle: int, counter: int) -> int:
        gpu = self._gpu(handle, "pcie")
        return gpu.rx_kb if counter == self.NVML_PCIE_UTIL_RX_BYTES else gpu.tx_kb

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: int) -> int:
        return self._gpu(handle, "throttle").throttle

    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int) -> int:
        return self._gpu(handle, "ecc").ecc[error_type]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        gpu = self._gpu(handle, "processes")
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in gpu.processes]


@pytest.fixture
def fake_pynvml() -> FakePynvml:
    return FakePynvml()


@pytest.fixture
def fake_gpu_factory() -> type[FakeGpu]:
    return FakeGpu


@pytest.fixture
def fake_pynvml_factory() -> type[FakePynvml]:
    return FakePynvml
