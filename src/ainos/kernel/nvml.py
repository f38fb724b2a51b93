"""NVIDIA GPUs through NVML, read field by field.

The ``pynvml`` module (package ``nvidia-ml-py``) is optional at run time: with no library
or no driver there are simply no GPUs. Every reading is taken on its own, so a field the
GPU does not support is absent (``None``) instead of failing the whole sample. Tests pass
a fake module with the same functions in place of ``pynvml``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from ainos.protocol import Device, DeviceKind, GpuStats

__all__ = ["GpuHandle", "Nvml", "open_nvml"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Throttle-reason bits as NVML defines them (nvmlClocksEventReason*), named for people.
_THROTTLE_REASONS: tuple[tuple[int, str], ...] = (
    (0x0001, "gpu_idle"),
    (0x0002, "applications_clocks_setting"),
    (0x0004, "sw_power_cap"),
    (0x0008, "hw_slowdown"),
    (0x0010, "sync_boost"),
    (0x0020, "sw_thermal_slowdown"),
    (0x0040, "hw_thermal_slowdown"),
    (0x0080, "hw_power_brake_slowdown"),
    (0x0100, "display_clock_setting"),
)

_MIB = 1024 * 1024
_KIB = 1024


def throttle_reason_names(mask: int) -> list[str]:
    return [name for bit, name in _THROTTLE_REASONS if mask & bit]


@dataclass(frozen=True)
class GpuHandle:
    index: int
    handle: object


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Nvml:
    """An initialised NVML library. Obtain one with :func:`open_nvml`."""

    def __init__(self, lib: ModuleType | Any) -> None:
        self._lib = lib
        self._lock = threading.Lock()  # NVML is thread-safe, but our handle cache is not
        count = lib.nvmlDeviceGetCount()
        self._handles = [GpuHandle(i, lib.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]

    @property
    def gpu_count(self) -> int:
        return len(self._handles)

    def _read(self, function: Callable[..., _T], *args: object) -> _T | None:
        """One NVML call; an unsupported or failing field is absent, not an error."""
        try:
            return function(*args)
        except self._lib.NVMLError as exc:
            _log.debug("NVML %s%s: %s", getattr(function, "__name__", function), args, exc)
            return None

    def _name(self, gpu: GpuHandle) -> str:
        name = self._read(self._lib.nvmlDeviceGetName, gpu.handle)
        return _text(name) if name is not None else f"NVIDIA GPU {gpu.index}"

    def _uuid(self, gpu: GpuHandle) -> str | None:
        uuid = self._read(self._lib.nvmlDeviceGetUUID, gpu.handle)
        return _text(uuid) if uuid is not None else None

    def devices(self) -> list[Device]:
        lib = self._lib
        driver = self._read(lib.nvmlSystemGetDriverVersion)
        devices = []
        for gpu in self._handles:
            memory = self._read(lib.nvmlDeviceGetMemoryInfo, gpu.handle)
            pci = self._read(lib.nvmlDeviceGetPciInfo, gpu.handle)
            capability = self._read(lib.nvmlDeviceGetCudaComputeCapability, gpu.handle)
            power_limit = self._read(lib.nvmlDeviceGetEnforcedPowerLimit, gpu.handle)
            devices.append(
                Device(
                    id=f"gpu:{gpu.index}",
                    kind=DeviceKind.GPU,
                    index=gpu.index,
                    name=self._name(gpu),
                    vendor="NVIDIA",
                    source="nvml",
                    memory_total_bytes=int(memory.total) if memory is not None else None,
                    uuid=self._uuid(gpu),
                    pci_bus_id=_text(pci.busId) if pci is not None else None,
                    driver_version=_text(driver) if driver is not None else None,
                    compute_capability=(
                        f"{capability[0]}.{capability[1]}" if capability is not None else None
                    ),
                    power_limit_watts=power_limit / 1000 if power_limit is not None else None,
                )
            )
        return devices

    def sample(self) -> list[GpuStats]:
        return [self._sample_one(gpu) for gpu in self._handles]

    def _sample_one(self, gpu: GpuHandle) -> GpuStats:
        lib, handle = self._lib, gpu.handle
        memory = self._read(lib.nvmlDeviceGetMemoryInfo, handle)
        rates = self._read(lib.nvmlDeviceGetUtilizationRates, handle)
        power_mw = self._read(lib.nvmlDeviceGetPowerUsage, handle)
        temperature = self._read(lib.nvmlDeviceGetTemperature, handle, lib.NVML_TEMPERATURE_GPU)
        sm_clock = self._read(lib.nvmlDeviceGetClockInfo, handle, lib.NVML_CLOCK_SM)
        mem_clock = self._read(lib.nvmlDeviceGetClockInfo, handle, lib.NVML_CLOCK_MEM)
        # NVML reports PCIe throughput in KB/s over its last 20 ms window.
        rx_kb = self._read(lib.nvmlDeviceGetPcieThroughput, handle, lib.NVML_PCIE_UTIL_RX_BYTES)
        tx_kb = self._read(lib.nvmlDeviceGetPcieThroughput, handle, lib.NVML_PCIE_UTIL_TX_BYTES)
        throttle = self._throttle_mask(handle)
        ecc_corrected = self._read(
            lib.nvmlDeviceGetTotalEccErrors,
            handle,
            lib.NVML_MEMORY_ERROR_TYPE_CORRECTED,
            lib.NVML_VOLATILE_ECC,
        )
        ecc_uncorrected = self._read(
            lib.nvmlDeviceGetTotalEccErrors,
            handle,
            lib.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
            lib.NVML_VOLATILE_ECC,
        )
        return GpuStats(
            index=gpu.index,
            name=self._name(gpu),
            uuid=self._uuid(gpu),
            utilization_percent=float(rates.gpu) if rates is not None else None,
            memory_utilization_percent=float(rates.memory) if rates is not None else None,
            memory_used_bytes=int(memory.used) if memory is not None else None,
            memory_total_bytes=int(memory.total) if memory is not None else None,
            power_watts=power_mw / 1000 if power_mw is not None else None,
            temperature_celsius=float(temperature) if temperature is not None else None,
            sm_clock_mhz=sm_clock,
            memory_clock_mhz=mem_clock,
            pcie_rx_bytes_per_second=rx_kb * _KIB if rx_kb is not None else None,
            pcie_tx_bytes_per_second=tx_kb * _KIB if tx_kb is not None else None,
            throttle_reasons_mask=throttle,
            throttle_reasons=throttle_reason_names(throttle) if throttle is not None else None,
            ecc_errors_corrected=ecc_corrected,
            ecc_errors_uncorrected=ecc_uncorrected,
        )

    def _throttle_mask(self, handle: object) -> int | None:
        # Newer drivers renamed "throttle reasons" to "clocks event reasons".
        reader = getattr(self._lib, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
            self._lib, "nvmlDeviceGetCurrentClocksThrottleReasons", None
        )
        return self._read(reader, handle) if reader is not None else None

    def free_memory(self, index: int) -> int | None:
        memory = self._read(self._lib.nvmlDeviceGetMemoryInfo, self._handles[index].handle)
        return int(memory.free) if memory is not None else None

    def utilization(self, index: int) -> float | None:
        rates = self._read(self._lib.nvmlDeviceGetUtilizationRates, self._handles[index].handle)
        return float(rates.gpu) if rates is not None else None

    def compute_processes(self) -> dict[int, int | None]:
        """GPU compute users: pid → GPU memory in bytes (None where the driver hides it)."""
        users: dict[int, int | None] = {}
        for gpu in self._handles:
            for process in (
                self._read(self._lib.nvmlDeviceGetComputeRunningProcesses, gpu.handle) or []
            ):
                used = getattr(process, "usedGpuMemory", None)
                known = used if isinstance(used, int) and used >= 0 else None
                previous = users.get(process.pid)
                users[process.pid] = (previous or 0) + known if known is not None else previous
        return users

    def close(self) -> None:
        with contextlib.suppress(self._lib.NVMLError):
            self._lib.nvmlShutdown()


def open_nvml(lib: ModuleType | Any | None = None) -> Nvml | None:
    """Initialise NVML; ``None`` when the library, the driver or any GPU is missing.

    ``lib`` replaces the ``pynvml`` module (tests pass a fake of it).
    """
    if lib is None:
        try:
            lib = importlib.import_module("pynvml")
        except ImportError:
            return None
    try:
        lib.nvmlInit()
    except lib.NVMLError as exc:
        _log.debug("NVML unavailable: %s", exc)
        return None
    try:
        nvml = Nvml(lib)
    except lib.NVMLError as exc:
        _log.debug("NVML could not list GPUs: %s", exc)
        with contextlib.suppress(lib.NVMLError):
            lib.nvmlShutdown()
        return None
    return nvml
