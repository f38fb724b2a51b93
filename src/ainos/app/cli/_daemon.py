"""What commands that work through the daemon when one runs share: the --socket option and
a progress bar for loads and conversions (``app.api.daemon_api_url`` finds the daemon)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ainos.app.cli._output import stderr

__all__ = ["SOCKET_OPTION", "progress_reporter"]

SOCKET_OPTION = typer.Option(None, "--socket", help="The daemon's control socket.")


@contextmanager
def progress_reporter() -> Iterator[Any]:
    """A progress bar on stderr for conversions and loads, shown only while work happens, and
    only on a terminal: on a pipe rich would still leave an empty line behind."""
    if not stderr.is_terminal:
        yield lambda _step, _fraction: None
        return
    bar = Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    task = bar.add_task("preparing", total=1.0)

    def report(step: str, fraction: float) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, description=step[:32], completed=fraction)

    try:
        yield report
    finally:
        bar.stop()
