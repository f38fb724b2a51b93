"""Statistics snapshots as Prometheus metrics.

GPU fields use the metric names of NVIDIA's dcgm-exporter (``DCGM_FI_DEV_*``, with its
units and labels), so existing Grafana dashboards work unchanged; everything else is
``ainos_``-prefixed.
"""

from __future__ import annotations

import socket

from ainos.kernel.telemetry._exposition import MetricFamily
from ainos.protocol import GpuStats, StatsSnapshot

_MIB = 1024 * 1024

# (metric, help, reader) for each GPU field, in dcgm-exporter's units.
_GPU_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", "utilization_percent"),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", "memory_utilization_percent"),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", "power_watts"),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", "temperature_celsius"),
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", "sm_clock_mhz"),
    ("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz).", "memory_clock_mhz"),
    ("DCGM_FI_DEV_ENFORCED_POWER_LIMIT", "Enforced power limit (in W).", "power_limit_watts"),
    (
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
        "Current clock throttle reasons (bitmask).",
        "throttle_reasons_mask",
    ),
)


def _gpu_labels(gpu: GpuStats, hostname: str) -> dict[str, str]:
    labels = {"gpu": str(gpu.index), "device": f"nvidia{gpu.index}", "modelName": gpu.name}
    if gpu.uuid is not None:
        labels["UUID"] = gpu.uuid
    labels["Hostname"] = hostname
    return labels


def _gpu_families(gpus: list[GpuStats], hostname: str) -> list[MetricFamily]:
    families = []
    for name, help_text, field_name in _GPU_GAUGES:
        family = MetricFamily(name, "gauge", help_text)
        for gpu in gpus:
            value = getattr(gpu, field_name)
            if value is not None:
                family.add(float(value), **_gpu_labels(gpu, hostname))
        families.append(family)

    used = MetricFamily("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).")
    free = MetricFamily("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).")
    total = MetricFamily("DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).")
    rx = MetricFamily("DCGM_FI_DEV_PCIE_RX_THROUGHPUT", "gauge", "PCIe rx throughput (in KB/s).")
    tx = MetricFamily("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", "gauge", "PCIe tx throughput (in KB/s).")
    sbe = MetricFamily(
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Volatile single-bit ECC errors."
    )
    dbe = MetricFamily(
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Volatile double-bit ECC errors."
    )
    age = MetricFamily(
        "ainos_gpu_slow_field_age_seconds",
        "gauge",
        "Age of a GPU field read on its own slower cadence, at the snapshot's time.",
    )
    for gpu in gpus:
        labels = _gpu_labels(gpu, hostname)
        for field_name, seconds in (gpu.slow_field_ages_seconds or {}).items():
            age.add(seconds, field=field_name, **labels)
        if gpu.memory_used_bytes is not None:
            used.add(gpu.memory_used_bytes // _MIB, **labels)
        if gpu.memory_total_bytes is not None:
            total.add(gpu.memory_total_bytes // _MIB, **labels)
            if gpu.memory_used_bytes is not None:
                free.add((gpu.memory_total_bytes - gpu.memory_used_bytes) // _MIB, **labels)
        if gpu.pcie_rx_bytes_per_second is not None:
            rx.add(gpu.pcie_rx_bytes_per_second // 1024, **labels)
        if gpu.pcie_tx_bytes_per_second is not None:
            tx.add(gpu.pcie_tx_bytes_per_second // 1024, **labels)
        if gpu.ecc_errors_corrected is not None:
            sbe.add(gpu.ecc_errors_corrected, **labels)
        if gpu.ecc_errors_uncorrected is not None:
            dbe.add(gpu.ecc_errors_uncorrected, **labels)
    return [*families, used, free, total, rx, tx, sbe, dbe, age]


def snapshot_families(snapshot: StatsSnapshot, hostname: str | None = None) -> list[MetricFamily]:
    """The metric families of one statistics snapshot."""
    host = hostname if hostname is not None else socket.gethostname()
    cpu = snapshot.cpu
    core = MetricFamily(
        "ainos_cpu_core_utilization_percent", "gauge", "Utilization of each CPU core (in %)."
    )
    for index, percent in enumerate(cpu.per_core_percent):
        core.add(percent, core=str(index))
    load = MetricFamily("ainos_load_average", "gauge", "System load average.")
    for window, value in zip(("1m", "5m", "15m"), cpu.load_average, strict=True):
        load.add(value, window=window)
    families = [
        MetricFamily("ainos_cpu_utilization_percent", "gauge", "CPU utilization (in %).").add(
            cpu.utilization_percent
        ),
        core,
        load,
        MetricFamily("ainos_memory_total_bytes", "gauge", "Physical memory.").add(
            cpu.memory_total_bytes
        ),
        MetricFamily("ainos_memory_used_bytes", "gauge", "Physical memory in use.").add(
            cpu.memory_used_bytes
        ),
        MetricFamily(
            "ainos_memory_available_bytes", "gauge", "Memory available without swapping."
        ).add(cpu.memory_available_bytes),
        MetricFamily("ainos_swap_total_bytes", "gauge", "Swap space.").add(cpu.swap_total_bytes),
        MetricFamily("ainos_swap_used_bytes", "gauge", "Swap space in use.").add(
            cpu.swap_used_bytes
        ),
        MetricFamily("ainos_gpus", "gauge", "NVIDIA GPUs visible through NVML.").add(
            len(snapshot.gpus)
        ),
    ]
    if cpu.frequency_mhz is not None:
        families.append(
            MetricFamily("ainos_cpu_frequency_mhz", "gauge", "Current CPU frequency.").add(
                cpu.frequency_mhz
            )
        )
    return [*families, *_gpu_families(snapshot.gpus, host)]


def sampler_families(
    samples_taken: int, sample_cpu_seconds: float, errors: int
) -> list[MetricFamily]:
    """The sampler's own cost, so that watching the machine is itself watched."""
    return [
        MetricFamily("ainos_telemetry_samples_total", "counter", "Samples taken.").add(
            samples_taken
        ),
        MetricFamily(
            "ainos_telemetry_sample_cpu_seconds_total",
            "counter",
            "CPU time spent taking samples.",
        ).add(sample_cpu_seconds),
        MetricFamily("ainos_telemetry_sample_errors_total", "counter", "Samples that failed.").add(
            errors
        ),
    ]
