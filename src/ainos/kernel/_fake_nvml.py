"""A fake NVML: a stand-in for the ``pynvml`` module with the real driver's measured
latencies, for benches and tests on machines without a GPU.

It offers the subset of ``pynvml`` that :mod:`ainos.kernel.nvml` calls, over scriptable GPUs
(:class:`FakeGpu`). Each call takes as long as it took on an NVIDIA H200 with driver 580
(:data:`H200_LATENCIES`): the calls that wait on the GPU or its firmware sleep, as the real
driver does, and the quick ones spin, standing for the ioctl's own CPU work. Nothing here
is a measurement of a real GPU; figures taken with it are the fake's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

__all__ = [
    "DRIVER_NOT_LOADED",
    "GPU_IS_LOST",
    "H200_LATENCIES",
    "NOT_SUPPORTED",
    "FakeGpu",
    "FakeNVMLError",
    "FakePynvml",
    "Hold",
]

NOT_SUPPORTED = 3
DRIVER_NOT_LOADED = 9
GPU_IS_LOST = 15

# Median seconds per call on an NVIDIA H200, driver 580. PCIe throughput blocks for NVML's
# 20 ms sampling window; the enforced power limit is a round trip to the GPU's firmware.
H200_LATENCIES: Mapping[str, float] = {
    "nvmlDeviceGetUtilizationRates": 1.6e-6,
    "nvmlDeviceGetMemoryInfo": 6.6e-6,
    "nvmlDeviceGetPowerUsage": 1.5e-6,
    "nvmlDeviceGetTemperature": 2.1e-6,
    "nvmlDeviceGetClockInfo": 2.0e-6,
    "nvmlDeviceGetCurrentClocksEventReasons": 2.4e-6,
    "nvmlDeviceGetTotalEccErrors": 2.8e-6,
    "nvmlDeviceGetComputeRunningProcesses": 9e-6,
    "nvmlDeviceGetEnforcedPowerLimit": 164e-6,
    "nvmlDeviceGetPcieThroughput": 21e-3,
}
# Calls not in the table (names, UUIDs, PCI info: read once) were not measured; a few µs.
UNMEASURED_LATENCY = 2e-6
# From this latency on, a call waits (sleeps) rather than works (spins).
_SLEEPS_FROM = 100e-6


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


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
    unsupported: set[str] = field(default_factory=set)  # readings that raise NOT_SUPPORTED
    failures: dict[str, Exception] = field(default_factory=dict)  # readings that raise these
    lost: bool = False  # fell off the bus: every reading raises GPU_IS_LOST
    processes: list[tuple[int, int | None]] = field(default_factory=list)


@dataclass
class Hold:
    """Keeps every call of one function in flight until released (for ordering tests)."""

    entered: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class FakePynvml:
    """The subset of ``pynvml`` that ``ainos.kernel.nvml`` uses, with scriptable GPUs.

    ``latencies`` maps function names to seconds per call (the H200's by default; ``{}``
    makes every call instant). ``calls`` counts the calls of each function.
    """

    NVMLError = FakeNVMLError
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_PCIE_UTIL_TX_BYTES = 0
    NVML_PCIE_UTIL_RX_BYTES = 1
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0

    def __init__(
        self,
        gpus: list[FakeGpu] | None = None,
        *,
        init_error: int | None = None,
        latencies: Mapping[str, float] | None = None,
    ) -> None:
        self.gpus = gpus if gpus is not None else [FakeGpu()]
        self.init_error = init_error
        self.latencies = dict(H200_LATENCIES if latencies is None else latencies)
        self.unmeasured_latency = UNMEASURED_LATENCY if latencies is None else 0.0
        self.initialised = False
        self.shutdowns = 0
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._holds: dict[str, Hold] = {}

    def hold(self, function: str) -> Hold:
        """From now on, calls of ``function`` wait for the returned hold's release."""
        hold = self._holds[function] = Hold()
        return hold

    def _enter(self, function: str) -> None:
        with self._calls_lock:
            self.calls[function] += 1
        hold = self._holds.get(function)
        if hold is not None:
            hold.entered.set()
            hold.released.wait()
        latency = self.latencies.get(function, self.unmeasured_latency)
        if latency >= _SLEEPS_FROM:
            time.sleep(latency)
        elif latency > 0:
            until = time.perf_counter() + latency
            while time.perf_counter() < until:
                pass

    def _gpu(self, handle: int, function: str, reading: str) -> FakeGpu:
        self._enter(function)
        gpu = self.gpus[handle]
        if gpu.lost:
            raise FakeNVMLError(GPU_IS_LOST)
        if reading in gpu.failures:
            raise gpu.failures[reading]
        if reading in gpu.unsupported:
            raise FakeNVMLError(NOT_SUPPORTED)
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._enter("nvmlDeviceGetHandleByIndex")
        return index

    def nvmlSystemGetDriverVersion(self) -> str:
        self._enter("nvmlSystemGetDriverVersion")
        return "580.65.06"

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle, "nvmlDeviceGetName", "name").name

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self._gpu(handle, "nvmlDeviceGetUUID", "uuid").uuid

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetMemoryInfo", "memory")
        return SimpleNamespace(total=gpu.total, used=gpu.used, free=gpu.total - gpu.used)

    def nvmlDeviceGetPciInfo(self, handle: int) -> SimpleNamespace:
        self._gpu(handle, "nvmlDeviceGetPciInfo", "pci")
        return SimpleNamespace(busId=f"00000000:{handle + 1:02x}:00.0".encode())

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        self._gpu(handle, "nvmlDeviceGetCudaComputeCapability", "capability")
        return (8, 0)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetEnforcedPowerLimit", "power_limit").power_limit_mw

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetUtilizationRates", "utilization")
        return SimpleNamespace(gpu=gpu.util, memory=gpu.mem_util)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetPowerUsage", "power").power_mw

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        if sensor != self.NVML_TEMPERATURE_GPU:
            raise FakeNVMLError(NOT_SUPPORTED)
        return self._gpu(handle, "nvmlDeviceGetTemperature", "temperature").temperature

    def nvmlDeviceGetClockInfo(self, handle: int, clock: int) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetClockInfo", "clocks")
        return gpu.sm_clock if clock == self.NVML_CLOCK_SM else gpu.mem_clock

    def nvmlDeviceGetPcieThroughput(self, handle: int, counter: int) -> int:
        gpu = self._gpu(handle, "nvmlDeviceGetPcieThroughput", "pcie")
        return gpu.rx_kb if counter == self.NVML_PCIE_UTIL_RX_BYTES else gpu.tx_kb

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetCurrentClocksEventReasons", "throttle").throttle

    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetTotalEccErrors", "ecc").ecc[error_type]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        gpu = self._gpu(handle, "nvmlDeviceGetComputeRunningProcesses", "processes")
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in gpu.processes]
