"""``ainos --help``: the root command's page, drawn in rich panels as Typer draws a
command's help, without importing Typer's help renderer. That module imports rich's
Markdown (markdown-it), Syntax (pygments) and Traceback at its top: about a third of the
page's start-up time, for a page that uses none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer import _click as click
from typer.core import TyperOption

from ainos.app.cli._output import stdout

__all__ = ["print_root_help"]


def _panel(title: str, rows: Iterable[tuple[str, str]]) -> Panel:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for name, text in rows:
        table.add_row(name, text)
    return Panel(table, title=title, title_align="left", border_style="dim", box=box.ROUNDED)


def _options(ctx: click.Context) -> Iterable[tuple[str, str]]:
    for param in ctx.command.get_params(ctx):
        if isinstance(param, TyperOption) and not param.hidden:
            yield "  ".join([*param.opts, *param.secondary_opts]), param.help or ""


def print_root_help(ctx: click.Context, commands: Iterable[tuple[str, str]]) -> None:
    """Usage, the root's help text, its options and ``commands`` (name, one line)."""
    usage = Text.assemble(("Usage: ", "yellow"), ctx.command_path, " ")
    usage.append(" ".join(ctx.command.collect_usage_pieces(ctx)))
    stdout.print(Padding(usage, 1), style="bold")
    stdout.print(Padding(ctx.command.help or "", (0, 1, 1, 1)))
    stdout.print(_panel("Options", _options(ctx)))
    stdout.print(_panel("Commands", commands))
