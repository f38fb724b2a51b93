"""``ainos top``: the live terminal view of the machine (textual, imported only when it
runs, so ``ainos top --help`` and every other command start without it)."""

from __future__ import annotations

from pathlib import Path

import typer

from ainos.app.cli._daemon import SOCKET_OPTION


def top(
    refresh: float = typer.Option(
        1.0, "--refresh", help="Seconds between looks (0.1 to 60; + and - change it live)."
    ),
    socket_path: Path | None = SOCKET_OPTION,
    in_process: bool = typer.Option(
        False,
        "--in-process",
        help="Look at a runtime started in this process even when a daemon runs.",
    ),
) -> None:
    """A live view of the machine: devices, AI processes, scheduler, pool, models, agents
    (from the daemon when one runs, in-process otherwise)."""
    from ainos.app.tui import TopApp, check_refresh, open_source

    check_refresh(refresh)
    source = open_source(socket_path, in_process=in_process)
    try:
        TopApp(source, refresh_s=refresh).run()
    finally:
        source.close()


def register(app: typer.Typer) -> None:
    app.command("top")(top)
