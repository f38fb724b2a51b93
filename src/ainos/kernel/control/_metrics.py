"""Everything the system layer measures, as Prometheus metric families."""

from __future__ import annotations

from ainos.kernel.scheduler import scheduler_families
from ainos.kernel.telemetry import MetricFamily, snapshot_families
from ainos.protocol.control import SystemStats
from ainos.protocol.memory import MemoryPoolStats


def pool_families(pool: MemoryPoolStats) -> list[MetricFamily]:
    labels = {"arena": pool.arena_id}
    return [
        MetricFamily("ainos_pinned_pool_bytes", "gauge", "Size of the pinned arena.").add(
            pool.total_bytes, **labels
        ),
        MetricFamily("ainos_pinned_pool_used_bytes", "gauge", "Bytes in allocated blocks.").add(
            pool.used_bytes, **labels
        ),
        MetricFamily(
            "ainos_pinned_pool_largest_free_block_bytes", "gauge", "Largest free block."
        ).add(pool.largest_free_block_bytes, **labels),
        MetricFamily("ainos_pinned_pool_blocks", "gauge", "Live allocations.").add(
            pool.block_count, **labels
        ),
        MetricFamily(
            "ainos_pinned_pool_fragmentation_ratio",
            "gauge",
            "1 - largest free block / free bytes.",
        ).add(pool.fragmentation_ratio, **labels),
        MetricFamily(
            "ainos_pinned_pool_failed_allocations_total", "counter", "Refused allocations."
        ).add(pool.failed_allocations, **labels),
        MetricFamily("ainos_pinned_pool_locked", "gauge", "1 when the arena is page-locked.").add(
            int(pool.locked), **labels
        ),
    ]


def system_families(stats: SystemStats) -> list[MetricFamily]:
    families = [
        *snapshot_families(stats.devices),
        MetricFamily("ainos_ai_processes", "gauge", "AI processes on the machine.").add(
            stats.ai_processes
        ),
        MetricFamily("ainos_control_clients", "gauge", "Open control connections.").add(
            stats.clients
        ),
        MetricFamily("ainos_registered_runtimes", "gauge", "Runtimes registered.").add(
            stats.registered_runtimes
        ),
        MetricFamily("ainos_uptime_seconds", "gauge", "Time since the runtime started.").add(
            stats.uptime_seconds
        ),
    ]
    if stats.memory_pool is not None:
        families += pool_families(stats.memory_pool)
    if stats.scheduler is not None:
        families += scheduler_families(stats.scheduler)
    return families
