"""``ainos bench …``: benchmarks, each against a baseline run in the same invocation."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ainos.app.cli._output import emit_json, gpus, stderr, stdout
from ainos.bench.telemetry import TARGET_PERCENT_OF_CORE, run_telemetry_bench
from ainos.errors import InvalidArgument

bench_app = typer.Typer(
    help="Benchmarks: each reports ratios against a baseline run side by side.",
    no_args_is_help=True,
)


class _Bar:
    """A rich progress bar on stderr, one task per configuration."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def __call__(self, label: str, fraction: float) -> None:
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=1.0)
        self._progress.update(self._tasks[label], completed=fraction)


@bench_app.command("telemetry")
def telemetry(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Shorter runs, rougher figures."),
    seconds: float | None = typer.Option(
        None, "--seconds", help="Wall time of each run (default 20, or 3 with --quick)."
    ),
) -> None:
    """The telemetry sampler's own CPU cost, vs an idle thread ticking at the same rate."""
    if seconds is None:
        seconds = 3.0 if quick else 20.0
    elif not 0 < seconds <= 3600:
        raise InvalidArgument(f"--seconds must be above 0 and at most 3600, got {seconds:g}")
    with gpus() as nvml, _Bar() as bar:
        result = run_telemetry_bench(seconds_per_run=seconds, nvml=nvml, progress=bar)
    document = result.to_dict()
    if as_json:
        emit_json(document)
        return
    table = Table(
        title=f"telemetry sampler cost ({result.gpus} GPUs, {seconds:g} s per run)",
        title_justify="left",
        caption=f"target: below {TARGET_PERCENT_OF_CORE:g} % of one core at 10 Hz",
        caption_justify="left",
    )
    for column in ("configuration", "rate", "ticks", "CPU s", "% of a core", "µs/tick", "x idle"):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    rows = document["rows"]
    assert isinstance(rows, list)
    for row in rows:
        ratio = row["ratio_to_idle_ticker"]
        table.add_row(
            row["configuration"],
            f"{row['rate_hz']:g} Hz",
            str(row["ticks"]),
            f"{row['cpu_seconds']:.4f}",
            f"{row['percent_of_core']:.3f}",
            f"{row['microseconds_per_tick']:.0f}",
            f"{ratio:.1f}" if ratio is not None else "-",
        )
    stdout.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
