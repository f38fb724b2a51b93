"""The tables' rows, read from a view: the process list sorted and filtered, the scheduler's
classes, the pinned pool, models, agents and actions. Plain data, so the widgets only draw."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ainos.app.tui._format import age, binary_size, milliseconds, percent
from ainos.protocol.memory import MemoryPoolStats
from ainos.protocol.monitor import MachineView
from ainos.protocol.processes import AIProcess
from ainos.protocol.scheduler import Priority, SchedulerStats

__all__ = [
    "SORT_KEYS",
    "ProcessOrder",
    "SortKey",
    "action_rows",
    "agent_rows",
    "class_rows",
    "device_summaries",
    "mean_batch_size",
    "model_rows",
    "pool_line",
    "process_row",
    "shown_processes",
]

SortKey = Literal["cpu", "memory", "pid", "name"]
SORT_KEYS: tuple[SortKey, ...] = ("cpu", "memory", "pid", "name")

# What a key sorts by; an unmeasured figure sorts below every measured one.
_SORT_VALUE: dict[SortKey, Callable[[AIProcess], float | str]] = {
    "cpu": lambda p: -1.0 if p.cpu_percent is None else p.cpu_percent,
    "memory": lambda p: -1 if p.rss_bytes is None else p.rss_bytes,
    "pid": lambda p: p.pid,
    "name": lambda p: p.name.casefold(),
}
# Busy and big first, as top(1) shows them; pids and names in their natural order.
_DESCENDING_FIRST: frozenset[SortKey] = frozenset({"cpu", "memory"})


@dataclass(frozen=True)
class ProcessOrder:
    key: SortKey = "cpu"
    descending: bool = True

    def pressed(self, key: SortKey) -> ProcessOrder:
        """The order after pressing ``key``'s key: that key in its natural direction, or, if
        it already sorts by it, the other direction."""
        if key == self.key:
            return ProcessOrder(key, not self.descending)
        return ProcessOrder(key, key in _DESCENDING_FIRST)

    def describe(self) -> str:
        return f"{self.key} {'↓' if self.descending else '↑'}"


def shown_processes(
    processes: list[AIProcess], order: ProcessOrder, name_filter: str = ""
) -> list[AIProcess]:
    """The processes whose name or command holds ``name_filter`` (any case), in ``order``;
    equal keys keep pid order."""
    needle = name_filter.strip().casefold()
    kept = [p for p in processes if needle in p.name.casefold() or needle in p.command.casefold()]
    kept.sort(key=lambda p: p.pid)
    kept.sort(key=_SORT_VALUE[order.key], reverse=order.descending)  # stable: ties by pid
    return kept


def process_row(process: AIProcess) -> tuple[str, ...]:
    return (
        str(process.pid),
        process.name,
        ", ".join(process.runtimes) or "-",
        "-" if process.cpu_percent is None else f"{process.cpu_percent:.1f}",
        binary_size(process.rss_bytes),
        binary_size(process.gpu_memory_bytes),
    )


def mean_batch_size(batch_sizes: Mapping[int, int]) -> float | None:
    """The mean rows per dispatched batch, from the histogram (rows -> batches)."""
    batches = sum(batch_sizes.values())
    if not batches:
        return None
    return sum(rows * count for rows, count in batch_sizes.items()) / batches


def class_rows(scheduler: SchedulerStats | None) -> list[tuple[str, ...]]:
    """One row per priority class, most urgent first."""
    if scheduler is None:
        return []
    rows: list[tuple[str, ...]] = []
    for priority in sorted(scheduler.classes, key=lambda p: Priority(p).rank):
        queue = scheduler.classes[priority]
        mean = mean_batch_size(queue.batch_sizes)
        rows.append(
            (
                str(priority),
                str(queue.queue_depth),
                str(queue.running),
                milliseconds(queue.wait.p99_ms),
                "-" if mean is None else f"{mean:.1f}",
                str(queue.deadline_misses_total),
                str(queue.completed_total),
            )
        )
    return rows


def pool_line(pool: MemoryPoolStats | None) -> str:
    if pool is None:
        return "no pinned pool"
    return (
        f"{binary_size(pool.used_bytes)} / {binary_size(pool.total_bytes)} · "
        f"{pool.block_count} blocks · {pool.owner_count} owners · "
        f"fragmentation {pool.fragmentation_ratio:.2f}"
    )


def model_rows(view: MachineView) -> list[tuple[str, ...]]:
    return [
        (
            model.alias,
            model.kind,
            str(model.in_flight),
            "-" if model.waiting is None else str(model.waiting),
            ", ".join(model.held_by) or "-",
        )
        for model in view.models
    ]


def agent_rows(view: MachineView) -> list[tuple[str, ...]]:
    return [
        (
            agent.state,
            agent.title,
            agent.model,
            str(agent.turns),
            "-" if agent.owner_pid is None else str(agent.owner_pid),
            age(agent.updated_at, view.at),
        )
        for agent in view.agents
    ]


def action_rows(view: MachineView) -> list[tuple[str, ...]]:
    return [
        (
            action.action_id,
            action.result,
            milliseconds(action.duration_ms),
            action.invoker or "-",
            age(action.started_at, view.at),
        )
        for action in view.actions
    ]


def device_summaries(view: MachineView) -> dict[str, str]:
    """Per device key (``cpu``, ``gpu:N``), its line of figures now."""
    cpu = view.stats.devices.cpu
    lines = {
        "cpu": f"cpu  {percent(cpu.utilization_percent)}  "
        f"mem {binary_size(cpu.memory_used_bytes)} / {binary_size(cpu.memory_total_bytes)}  "
        f"load {' '.join(f'{v:.2f}' for v in cpu.load_average)}"
    }
    for gpu in view.stats.devices.gpus:
        figures = [
            f"gpu:{gpu.index} {gpu.name}",
            percent(gpu.utilization_percent),
            f"mem {binary_size(gpu.memory_used_bytes)} / {binary_size(gpu.memory_total_bytes)}",
        ]
        if gpu.power_watts is not None:
            figures.append(f"{gpu.power_watts:.0f} W")
        if gpu.temperature_celsius is not None:
            figures.append(f"{gpu.temperature_celsius:.0f} °C")
        lines[f"gpu:{gpu.index}"] = "  ".join(figures)
    return lines
