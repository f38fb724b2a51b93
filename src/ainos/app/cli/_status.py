"""``ainos status``: whether a daemon runs, and its statistics. It only talks to the control
socket, so it imports none of what serving needs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ainos.app.cli._output import emit_json, human_bytes, stdout
from ainos.kernel.control import Client, DaemonUnavailable, default_socket_path
from ainos.protocol.control import SystemStats

_EXIT_NOT_RUNNING = 3


def _status_table(stats: SystemStats, socket: str) -> Table:
    table = Table(title=f"ainos daemon on {socket}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("uptime", f"{stats.uptime_seconds:.0f} s")
    table.add_row("clients", f"{stats.clients} connected, {stats.registered_runtimes} registered")
    table.add_row("AI processes", str(stats.ai_processes))
    cpu = stats.devices.cpu
    table.add_row("cpu", f"{cpu.utilization_percent:.0f}%, {len(stats.devices.gpus)} GPUs")
    if stats.memory_pool is not None:
        pool = stats.memory_pool
        table.add_row(
            "pinned pool",
            f"{human_bytes(pool.used_bytes)} used of {human_bytes(pool.total_bytes)}, "
            f"{pool.block_count} blocks, fragmentation {pool.fragmentation_ratio:.2f}, "
            f"{'locked' if pool.locked else 'not locked'}",
        )
    if stats.scheduler is not None:
        scheduler = stats.scheduler
        latency = (
            f"{scheduler.average_latency_ms:.2f} ms"
            if scheduler.average_latency_ms is not None
            else "-"
        )
        table.add_row(
            "scheduler",
            f"{scheduler.discipline}; {scheduler.queued} queued, {scheduler.running} running, "
            f"{scheduler.scheduled_tasks} scheduled, average latency {latency}",
        )
    return table


def status(
    socket_path: Path | None = typer.Option(None, "--socket", help="Control socket."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Whether a daemon is running, and its statistics."""
    path = socket_path or default_socket_path()
    try:
        with Client(path, timeout=10.0) as client:
            version = client.version()
            stats = client.get_stats()
    except DaemonUnavailable:
        if as_json:
            emit_json({"running": False, "socket": str(path)})
        else:
            stdout.print(f"ainos daemon: not running (no answer on {path})")
        raise typer.Exit(_EXIT_NOT_RUNNING) from None
    if as_json:
        emit_json(
            {
                "running": True,
                "socket": str(path),
                "version": version.model_dump(mode="json"),
                "stats": stats.model_dump(mode="json"),
            }
        )
        return
    stdout.print(f"ainos daemon: running (pid {version.pid}, version {version.version})")
    stdout.print(_status_table(stats, str(path)))


def register(app: typer.Typer) -> None:
    app.command("status")(status)
