"""The chart of ``ainos bench table``: latency against offered load, one line per
configuration (p50 solid, p99 dashed; the bars span the rounds' least to greatest), as a
PNG drawn by matplotlib's Agg backend. matplotlib is imported here only, when a chart is
drawn: no other command pays for it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ainos.app.bench._table_case import CONFIGS
from ainos.errors import AinosError

if TYPE_CHECKING:
    from ainos.app.bench.table import TableBenchResult

__all__ = ["write_latency_chart"]

_DPI = 120


def write_latency_chart(result: TableBenchResult, path: Path) -> Path:
    """Draw the chart to ``path`` (a PNG) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas, without pyplot's global state
    axes = figure.add_subplot()
    colours = dict(zip(CONFIGS, ("tab:gray", "tab:blue", "tab:orange", "tab:green"), strict=True))
    for config in result.settings.configs:
        cells = [cell for cell in result.cells if cell.config == config]
        for figure_name, style, label in (("p50_ms", "-", "p50"), ("p99_ms", "--", "p99")):
            points = [(cell.clients, cell.spread(figure_name)) for cell in cells]
            shown = [(clients, spread) for clients, spread in points if spread is not None]
            if not shown:
                continue
            xs = [clients for clients, _ in shown]
            ys = [spread.median for _, spread in shown]
            below = [spread.median - spread.low for _, spread in shown]
            above = [spread.high - spread.median for _, spread in shown]
            axes.errorbar(
                xs,
                ys,
                yerr=[below, above],
                fmt="o" + style,
                color=colours[config],
                capsize=3,
                label=f"{config} {label}",
            )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    loads = sorted({cell.clients for cell in result.cells})
    axes.set_xticks(loads, [str(n) for n in loads])
    axes.set_xlabel("offered load: concurrent clients (1 in 4 realtime)")
    axes.set_ylabel("request latency, ms (log)")
    settings = result.settings
    axes.set_title(
        f"Mixed embeddings + {settings.max_tokens}-token chats, median of {settings.repeats} "
        f"rounds; {result.cpu_count} CPUs ({result.cpu_model})",
        fontsize=9,
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, ncols=2)
    try:
        figure.savefig(path, dpi=_DPI, format="png")
    except OSError as error:
        raise AinosError(f"cannot write the chart to {str(path)!r}: {error.strerror}") from None
    return path
