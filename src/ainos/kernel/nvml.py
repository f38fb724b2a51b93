"""NVIDIA GPUs through NVML, read field by field.

The ``pynvml`` module (package ``nvidia-ml-py``) is optional at run time: with no library
or no driver there are simply no GPUs. Every reading is taken on its own, so a field the
GPU does not support is absent (``None``) instead of failing the whole sample. What never
changes (name, UUID, bus id, total memory, compute capability, driver) is read once; the
slow fields (:data:`SLOW_FIELDS`) are read one at a time by whoever keeps them fresh, so a
sample need not wait for them. Tests and benches pass a fake module with the same functions
in place of ``pynvml`` (``ainos.kernel._fake_nvml``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, TypeVar, get_args

from ainos.protocol import Device, DeviceKind, GpuStats

__all__ = [
    "SLOW_FIELDS",
    "CallObserver",
    "GpuHandle",
    "Nvml",
    "SlowField",
    "SlowReading",
    "open_nvml",
    "throttle_reason_names",
]

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

_KIB = 1024


def throttle_reason_names(mask: int) -> list[str]:
    return [name for bit, name in _THROTTLE_REASONS if mask & bit]


@dataclass(frozen=True)
class GpuHandle:
    index: int
    handle: object


# The GpuStats fields read on a cadence of their own rather than in every sample: PCIe
# throughput blocks for NVML's 20 ms sampling window, the enforced power limit is a firmware
# round trip, and ECC counters only move when memory fails.
SlowField = Literal[
    "pcie_rx_bytes_per_second",
    "pcie_tx_bytes_per_second",
    "ecc_errors_corrected",
    "ecc_errors_uncorrected",
    "power_limit_watts",
]
SLOW_FIELDS: tuple[SlowField, ...] = get_args(SlowField)


@dataclass(frozen=True)
class SlowReading:
    """One slow field of one GPU: its value (None: NVML did not offer it) and when it was read
    (wall clock, as a snapshot's timestamp)."""

    value: float | None  # an int for counters and rates
    read_at: float


@dataclass(frozen=True)
class _StaticInfo:
    """What does not change while the driver is loaded: read once, when NVML opens."""

    name: str
    uuid: str | None
    pci_bus_id: str | None
    memory_total_bytes: int | None
    compute_capability: str | None


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


CallObserver = Callable[[str, float], None]  # (NVML function, seconds it took)


class Nvml:
    """An initialised NVML library. Obtain one with :func:`open_nvml`.

    Thread-safe: NVML is, and after opening this object only reads its own state.
    """

    def __init__(self, lib: ModuleType | Any) -> None:
        self._lib = lib
        count = lib.nvmlDeviceGetCount()
        self._handles = [GpuHandle(i, lib.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        # Set to time every NVML call (``ainos bench telemetry``); None costs one check a call.
        self.on_call: CallObserver | None = None
        # Newer drivers renamed "throttle reasons" to "clocks event reasons".
        self._throttle_reader: Callable[[object], int] | None = getattr(
            lib, "nvmlDeviceGetCurrentClocksEventReasons", None
        ) or getattr(lib, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
        driver = self._read(lib.nvmlSystemGetDriverVersion)
        self._driver_version = _text(driver) if driver is not None else None
        self._static = [self._read_static(gpu) for gpu in self._handles]

    @property
    def gpu_count(self) -> int:
        return len(self._handles)

    def _read(self, function: Callable[..., _T], *args: object) -> _T | None:
        """One NVML call; an unsupported or failing field is absent, not an error."""
        observer = self.on_call
        started = time.perf_counter() if observer is not None else 0.0
        try:
            value: _T | None = function(*args)
        except self._lib.NVMLError as exc:
            _log.debug("NVML %s%s: %s", getattr(function, "__name__", function), args, exc)
            value = None
        if observer is not None:
            observer(getattr(function, "__name__", repr(function)), time.perf_counter() - started)
        return value

    def _read_static(self, gpu: GpuHandle) -> _StaticInfo:
        lib = self._lib
        name = self._read(lib.nvmlDeviceGetName, gpu.handle)
        uuid = self._read(lib.nvmlDeviceGetUUID, gpu.handle)
        pci = self._read(lib.nvmlDeviceGetPciInfo, gpu.handle)
        memory = self._read(lib.nvmlDeviceGetMemoryInfo, gpu.handle)
        capability = self._read(lib.nvmlDeviceGetCudaComputeCapability, gpu.handle)
        return _StaticInfo(
            name=_text(name) if name is not None else f"NVIDIA GPU {gpu.index}",
            uuid=_text(uuid) if uuid is not None else None,
            pci_bus_id=_text(pci.busId) if pci is not None else None,
            memory_total_bytes=int(memory.total) if memory is not None else None,
            compute_capability=(
                f"{capability[0]}.{capability[1]}" if capability is not None else None
            ),
        )

    def devices(self) -> list[Device]:
        devices = []
        for gpu, static in zip(self._handles, self._static, strict=True):
            power_limit = self.read_slow_field(gpu.index, "power_limit_watts")
            devices.append(
                Device(
                    id=f"gpu:{gpu.index}",
                    kind=DeviceKind.GPU,
                    index=gpu.index,
                    name=static.name,
                    vendor="NVIDIA",
                    source="nvml",
                    memory_total_bytes=static.memory_total_bytes,
                    uuid=static.uuid,
                    pci_bus_id=static.pci_bus_id,
                    driver_version=self._driver_version,
                    compute_capability=static.compute_capability,
                    power_limit_watts=float(power_limit) if power_limit is not None else None,
                )
            )
        return devices

    def sample(
        self,
        slow: Sequence[Mapping[SlowField, SlowReading]] | None = None,
        *,
        now: float | None = None,
    ) -> list[GpuStats]:
        """Every GPU's readings. The quick ones are taken now; the slow ones come from ``slow``
        (per GPU, the latest reading of each field, e.g. a slow-field poller's) with their age
        at ``now``; without ``slow`` they are read now too, which blocks for tens of ms."""
        taken_at = time.time() if now is None else now
        stats = []
        for gpu in self._handles:
            values: dict[SlowField, float | None]
            ages: dict[str, float] | None
            if slow is None:
                values = {name: self.read_slow_field(gpu.index, name) for name in SLOW_FIELDS}
                ages = None
            else:
                readings = slow[gpu.index] if gpu.index < len(slow) else {}
                values = {name: reading.value for name, reading in readings.items()}
                ages = {name: max(0.0, taken_at - r.read_at) for name, r in readings.items()}
            stats.append(self._sample_one(gpu, values, ages))
        return stats

    def _sample_one(
        self,
        gpu: GpuHandle,
        slow: Mapping[SlowField, float | None],
        ages: dict[str, float] | None,
    ) -> GpuStats:
        lib, handle, static = self._lib, gpu.handle, self._static[gpu.index]
        memory = self._read(lib.nvmlDeviceGetMemoryInfo, handle)
        rates = self._read(lib.nvmlDeviceGetUtilizationRates, handle)
        power_mw = self._read(lib.nvmlDeviceGetPowerUsage, handle)
        temperature = self._read(lib.nvmlDeviceGetTemperature, handle, lib.NVML_TEMPERATURE_GPU)
        sm_clock = self._read(lib.nvmlDeviceGetClockInfo, handle, lib.NVML_CLOCK_SM)
        mem_clock = self._read(lib.nvmlDeviceGetClockInfo, handle, lib.NVML_CLOCK_MEM)
        reader = self._throttle_reader
        throttle = self._read(reader, handle) if reader is not None else None
        return GpuStats(
            index=gpu.index,
            name=static.name,
            uuid=static.uuid,
            utilization_percent=float(rates.gpu) if rates is not None else None,
            memory_utilization_percent=float(rates.memory) if rates is not None else None,
            memory_used_bytes=int(memory.used) if memory is not None else None,
            memory_total_bytes=int(memory.total) if memory is not None else None,
            power_watts=power_mw / 1000 if power_mw is not None else None,
            temperature_celsius=float(temperature) if temperature is not None else None,
            sm_clock_mhz=sm_clock,
            memory_clock_mhz=mem_clock,
            throttle_reasons_mask=throttle,
            throttle_reasons=throttle_reason_names(throttle) if throttle is not None else None,
            pcie_rx_bytes_per_second=_int(slow.get("pcie_rx_bytes_per_second")),
            pcie_tx_bytes_per_second=_int(slow.get("pcie_tx_bytes_per_second")),
            ecc_errors_corrected=_int(slow.get("ecc_errors_corrected")),
            ecc_errors_uncorrected=_int(slow.get("ecc_errors_uncorrected")),
            power_limit_watts=slow.get("power_limit_watts"),
            slow_field_ages_seconds=ages or None,
        )

    def read_slow_field(self, index: int, name: SlowField) -> float | None:
        """One slow field of GPU ``index``, read now (one NVML call; PCIe blocks ~21 ms)."""
        lib, handle = self._lib, self._handles[index].handle
        if name == "pcie_rx_bytes_per_second" or name == "pcie_tx_bytes_per_second":
            # NVML reports PCIe throughput in KB/s over its last 20 ms window.
            counter = (
                lib.NVML_PCIE_UTIL_RX_BYTES
                if name == "pcie_rx_bytes_per_second"
                else lib.NVML_PCIE_UTIL_TX_BYTES
            )
            kb = self._read(lib.nvmlDeviceGetPcieThroughput, handle, counter)
            return int(kb) * _KIB if kb is not None else None
        if name == "ecc_errors_corrected" or name == "ecc_errors_uncorrected":
            error_type = (
                lib.NVML_MEMORY_ERROR_TYPE_CORRECTED
                if name == "ecc_errors_corrected"
                else lib.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
            )
            count = self._read(
                lib.nvmlDeviceGetTotalEccErrors, handle, error_type, lib.NVML_VOLATILE_ECC
            )
            return int(count) if count is not None else None
        milliwatts = self._read(lib.nvmlDeviceGetEnforcedPowerLimit, handle)
        return milliwatts / 1000 if milliwatts is not None else None

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


def _driver_library_loads() -> bool:
    """Whether the driver's NVML library loads, the first thing ``nvmlInit`` does on Linux.

    Asked first because importing ``pynvml`` takes 10-15 ms, a twentieth of a quick
    command's budget, on the machines that have no NVIDIA driver at all.
    """
    if not sys.platform.startswith("linux"):
        return True  # pynvml knows where the library lives elsewhere
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def open_nvml(lib: ModuleType | Any | None = None) -> Nvml | None:
    """Initialise NVML; ``None`` when the library, the driver or any GPU is missing.

    ``lib`` replaces the ``pynvml`` module (tests pass a fake of it).
    """
    if lib is None:
        if not _driver_library_loads():
            return None
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
