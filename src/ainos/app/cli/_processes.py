"""``ainos ps``: AI processes on this machine."""

from __future__ import annotations

import threading
import time

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import (
    check_interval,
    emit_json,
    emit_json_line,
    gpus,
    human_age,
    human_bytes,
    optional,
    stderr,
    stdout,
)
from ainos.kernel.processes import ProcessMonitor
from ainos.protocol import ProcessEventKind, ProcessScan

# CPU use is measured between two looks; this is the pause between them for one-shot use.


def processes_table(scan: ProcessScan) -> Table:
    table = Table(title="AI processes", title_justify="left")
    for column in ("pid", "user", "runtimes", "cpu", "rss", "gpu mem", "up", "command"):
        table.add_column(column, justify="right" if column in ("pid", "cpu", "rss") else "left")
    for process in scan.processes:
        table.add_row(
            str(process.pid),
            escape(process.user or "?"),
            ",".join(process.runtimes) or "-",
            optional(process.cpu_percent, suffix="%"),
            human_bytes(process.rss_bytes),
            human_bytes(process.gpu_memory_bytes),
            human_age(process.started_at, scan.timestamp),
            escape(_shorten(process.command)),
        )
    return table


def _shorten(command: str, width: int = 80) -> str:
    return command if len(command) <= width else command[: width - 3] + "..."


def ps(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    show_all: bool = typer.Option(
        False, "--all", "-a", help="List every process, not only AI processes."
    ),
    watch: bool = typer.Option(
        False, "--watch", "-w", help="Report AI processes as they start and stop, until Ctrl-C."
    ),
    interval: float = typer.Option(1.0, "--interval", "-i", help="Seconds between looks."),
) -> None:
    """AI processes: ML runtimes in their memory maps, GPU compute users, registered clients."""
    check_interval(interval)
    with gpus() as nvml:
        monitor = ProcessMonitor(nvml)
        if watch:
            _watch(monitor, interval, as_json)
            return
        # One look: each process's CPU use is its average since it started, as ps(1) has it.
        scan = monitor.scan(include_all=show_all)
    if as_json:
        emit_json(scan.to_dict())
        return
    stdout.print(processes_table(scan))
    if scan.permission_denied:
        stderr.print(
            f"{scan.permission_denied} processes could not be inspected (permission denied)"
        )


def _watch(monitor: ProcessMonitor, interval: float, as_json: bool) -> None:
    for event in monitor.watch(interval, threading.Event()):
        if as_json:
            emit_json_line(event.to_dict())
            continue
        process = event.process
        marker = "+" if event.kind is ProcessEventKind.STARTED else "-"
        stdout.print(
            f"{time.strftime('%H:%M:%S', time.localtime(event.timestamp))} {marker} "
            f"{event.kind.value:<7} pid {process.pid} [{','.join(process.runtimes) or '?'}] "
            f"{escape(process.command)}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("ps")(ps)
