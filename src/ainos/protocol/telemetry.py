"""Device statistics as sampled by the telemetry sampler. Unmeasured fields stay ``None``."""

from __future__ import annotations

from pydantic import Field

from ainos.protocol._base import Record

__all__ = ["CpuStats", "GpuStats", "StatsSnapshot"]


class CpuStats(Record):
    utilization_percent: float
    per_core_percent: list[float]
    load_average: tuple[float, float, float]
    memory_total_bytes: int
    memory_used_bytes: int
    memory_available_bytes: int
    swap_total_bytes: int
    swap_used_bytes: int
    frequency_mhz: float | None = None


class GpuStats(Record):
    """One NVIDIA GPU as NVML reports it; each field is absent where NVML does not offer it."""

    index: int
    name: str
    uuid: str | None = None
    utilization_percent: float | None = None
    memory_utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    power_watts: float | None = None
    temperature_celsius: float | None = None
    sm_clock_mhz: int | None = None
    memory_clock_mhz: int | None = None
    pcie_rx_bytes_per_second: int | None = None
    pcie_tx_bytes_per_second: int | None = None
    throttle_reasons_mask: int | None = None
    throttle_reasons: list[str] | None = None
    ecc_errors_corrected: int | None = None
    ecc_errors_uncorrected: int | None = None
    power_limit_watts: float | None = Field(
        default=None, description="The power limit the driver enforces."
    )
    slow_field_ages_seconds: dict[str, float] | None = Field(
        default=None,
        description="How old each field read on its own slower cadence (PCIe throughput, ECC "
        "counters, power limit) was at the snapshot's time, in seconds, by field name; a slow "
        "field not read yet is absent here and in the record.",
    )


class StatsSnapshot(Record):
    """Every device at one instant."""

    timestamp: float = Field(description="Wall-clock time of the sample, seconds since the epoch.")
    cpu: CpuStats
    gpus: list[GpuStats] = Field(default_factory=list)
