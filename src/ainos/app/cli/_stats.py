"""``ainos stats`` and ``ainos metrics``: the machine's device statistics."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ainos.app.cli._output import (
    check_interval,
    emit_json,
    emit_json_line,
    gpus,
    human_bytes,
    optional,
    stdout,
)
from ainos.kernel.telemetry import (
    DEFAULT_RATE_HZ,
    Sampler,
    render,
    sampler_families,
    snapshot_families,
)
from ainos.protocol import StatsSnapshot

if TYPE_CHECKING:
    from rich.table import Table

_ONE_LOOK_RATE_HZ = 20.0


def stats_table(snapshot: StatsSnapshot) -> Table:
    # rich's tables are imported here: `stats --json` prints no table.
    from rich.markup import escape
    from rich.table import Table

    cpu = snapshot.cpu
    notes = [
        "cores " + " ".join(f"{p:.0f}%" for p in cpu.per_core_percent),
        "load " + " ".join(f"{v:.2f}" for v in cpu.load_average),
        f"swap {human_bytes(cpu.swap_used_bytes)} / {human_bytes(cpu.swap_total_bytes)}",
    ]
    table = Table(title="ainos stats", title_justify="left", caption_justify="left")
    for column in ("device", "util", "memory", "power", "temp", "clock"):
        table.add_column(column, justify="left" if column == "device" else "right")
    table.add_row(
        "cpu",
        f"{cpu.utilization_percent:.0f}%",
        f"{human_bytes(cpu.memory_used_bytes)} / {human_bytes(cpu.memory_total_bytes)}",
        "-",
        "-",
        optional(cpu.frequency_mhz, suffix=" MHz"),
    )
    for gpu in snapshot.gpus:
        memory = (
            f"{human_bytes(gpu.memory_used_bytes)} / {human_bytes(gpu.memory_total_bytes)}"
            if gpu.memory_total_bytes is not None
            else "-"
        )
        table.add_row(
            f"gpu:{gpu.index} {escape(gpu.name)}",
            optional(gpu.utilization_percent, suffix="%"),
            memory,
            optional(gpu.power_watts, suffix=" W"),
            optional(gpu.temperature_celsius, suffix=" °C"),
            optional(gpu.sm_clock_mhz, suffix=" MHz"),
        )
        if gpu.throttle_reasons:
            notes.append(f"gpu:{gpu.index} throttled: " + ", ".join(gpu.throttle_reasons))
        if gpu.ecc_errors_uncorrected:
            notes.append(f"gpu:{gpu.index} uncorrected ECC errors: {gpu.ecc_errors_uncorrected}")
    table.caption = "; ".join(notes)
    return table


def stats(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Keep refreshing until Ctrl-C."),
    interval: float = typer.Option(
        1.0, "--interval", "-i", help="Seconds between refreshes with --watch."
    ),
) -> None:
    """Current CPU and GPU statistics (utilisation, memory, power, temperature, clocks)."""
    check_interval(interval)
    # One look needs only the first sample, whose CPU figures cover the sampler's period:
    # a shorter one answers sooner (a command should start and finish in well under 0.3 s).
    rate = DEFAULT_RATE_HZ if watch else _ONE_LOOK_RATE_HZ
    with gpus() as nvml, Sampler(nvml=nvml, rate_hz=rate) as sampler:
        snapshot = sampler.wait_for_sample()
        if not watch:
            if as_json:
                emit_json(snapshot.to_dict())
            else:
                stdout.print(stats_table(snapshot))
            return
        if as_json:
            while True:
                emit_json_line(snapshot.to_dict())
                time.sleep(interval)
                snapshot = sampler.latest() or snapshot
        from rich.live import Live

        with Live(stats_table(snapshot), console=stdout, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(stats_table(sampler.latest() or snapshot), refresh=True)


def metrics(
    socket_path: Path | None = typer.Option(None, "--socket", help="The daemon's socket."),
) -> None:
    """Current statistics in Prometheus text exposition format (with the scheduler's and the
    pinned pool's when a daemon runs)."""
    from ainos.kernel.control import Client, DaemonUnavailable, system_families

    try:
        with Client(socket_path, timeout=10.0) as client:
            stats = client.get_stats()
    except DaemonUnavailable:
        pass
    else:
        sys.stdout.write(render(system_families(stats)))
        return
    with gpus() as nvml, Sampler(nvml=nvml) as sampler:
        snapshot = sampler.wait_for_sample()
        families = snapshot_families(snapshot) + sampler_families(
            sampler.samples_taken, sampler.sample_cpu_seconds, sampler.errors
        )
    sys.stdout.write(render(families))


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
    app.command("metrics")(metrics)
