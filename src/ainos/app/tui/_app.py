"""``ainos top``'s application: a look at the machine every refresh interval, taken in a
worker thread, drawn into the panels; keys to sort and filter the processes and to change
the pace."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from ainos.app.tui._history import DeviceHistory
from ainos.app.tui._panels import DevicesPanel, PoolPanel, TablePanel
from ainos.app.tui._refresh import faster, slower
from ainos.app.tui._rows import (
    ProcessOrder,
    SortKey,
    action_rows,
    agent_rows,
    class_rows,
    model_rows,
    process_row,
    shown_processes,
)
from ainos.app.tui._sources import ViewSource
from ainos.app.tui._style import TOP_CSS
from ainos.protocol.monitor import MachineView

__all__ = ["TopApp"]


class FilterInput(Input):
    """The process filter: typed into live, Enter keeps it, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.clear_filter", "Clear filter")]


class TopApp(App[None]):
    TITLE = "ainos top"
    CSS = TOP_CSS
    # Narrow terminals stack the panels; short ones leave the recent actions out. (textual
    # declares these as instance variables to mypy: a ClassVar here would not type-check.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # Ctrl-C ends a live view as it ends top(1), even from the filter's input.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("c", "sort('cpu')", "CPU"),
        Binding("m", "sort('memory')", "Mem"),
        Binding("p", "sort('pid')", "PID"),
        Binding("n", "sort('name')", "Name"),
        Binding("slash", "open_filter", "Filter"),
        Binding("escape", "clear_filter", "Clear", show=False),
        Binding("plus", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
    ]

    def __init__(self, source: ViewSource, *, refresh_s: float = 1.0) -> None:
        super().__init__()
        self.source = source
        self.refresh_s = refresh_s
        self.view: MachineView | None = None  # the last view shown; kept when a look fails
        self.failure: str | None = None  # the last look's error while it keeps failing
        self.order = ProcessOrder()
        self.name_filter = ""
        self.history = DeviceHistory()
        # One thread takes every look: the daemon source keeps one connection that way.
        self._looker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ainos-top-look")
        self._looking = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="header", markup=False)
        yield Static("", id="status", markup=False)
        with Horizontal(id="upper"):
            devices = DevicesPanel(id="devices", classes="panel")
            devices.border_title = "devices"
            yield devices
            with Vertical(id="side"):
                pool = PoolPanel(id="pool", classes="panel")
                pool.border_title = "pinned pool"
                yield pool
                yield TablePanel(
                    "scheduler classes",
                    ("class", "queue", "run", "p99 wait", "avg batch", "miss", "done"),
                    id="classes",
                )
        yield TablePanel(
            "AI processes", ("pid", "name", "runtimes", "cpu %", "RSS", "GPU mem"), id="processes"
        )
        with Horizontal(id="lower"):
            yield TablePanel(
                "models", ("alias", "kind", "in flight", "waiting", "held by"), id="models"
            )
            yield TablePanel(
                "agents", ("state", "title", "model", "turns", "pid", "age"), id="agents"
            )
            yield TablePanel(
                "recent actions", ("action", "result", "took", "invoker", "age"), id="actions"
            )
        yield FilterInput(placeholder="filter processes by name or command", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._draw_header()
        self._draw_status()
        self.query_one("#processes", TablePanel).table.focus()
        self._timer = self.set_interval(self.refresh_s, self._look_soon)
        self._look_soon()

    def on_unmount(self) -> None:
        self._looker.shutdown(wait=False, cancel_futures=True)

    # -- looks -----------------------------------------------------------------------------

    def _look_soon(self) -> None:
        if not self._looking:  # no look queues behind a slow one: a late view is skipped
            self._looking = True
            self.run_worker(self._look(), group="look", exit_on_error=False)

    async def _look(self) -> None:
        try:
            view = await asyncio.get_running_loop().run_in_executor(self._looker, self.source)
        except Exception as error:  # whatever went wrong, the screen stays and tries again
            self.failure = " ".join(str(error).split()) or type(error).__name__
        else:
            self.failure = None
            self.view = view
            self.history.record(view)
            self._draw_view(view)
        finally:
            self._looking = False
        self._draw_header()
        self._draw_status()

    # -- drawing ---------------------------------------------------------------------------

    def _draw_header(self) -> None:
        parts = ["ainos top", self.source.where]
        if self.view is not None:
            parts.append(time.strftime("%H:%M:%S", time.localtime(self.view.at)))
        parts.append(f"every {self.refresh_s:g} s")
        self.query_one("#header", Static).update(" · ".join(parts))

    def _draw_status(self) -> None:
        status = self.query_one("#status", Static)
        status.set_class(self.failure is not None, "failing")
        if self.failure is not None:
            kept = (
                f" (showing the view of {time.strftime('%H:%M:%S', time.localtime(self.view.at))})"
                if self.view is not None
                else ""
            )
            status.update(f"look failed, retrying{kept}: {self.failure}")
        elif self.view is None:
            status.update(f"taking the first look ({self.source.where})…")
        else:
            view = self.view
            status.update(
                f"{len(view.processes)} AI processes · {len(view.models)} models loaded · "
                f"{sum(a.state == 'running' for a in view.agents)} agents running"
            )

    def _draw_view(self, view: MachineView) -> None:
        self.query_one(DevicesPanel).show(view, self.history)
        self.query_one(PoolPanel).show(view.stats.memory_pool)
        self.query_one("#classes", TablePanel).show(class_rows(view.stats.scheduler))
        self._draw_processes()
        self.query_one("#models", TablePanel).show(model_rows(view))
        self.query_one("#agents", TablePanel).show(agent_rows(view))
        self.query_one("#actions", TablePanel).show(action_rows(view))

    def _draw_processes(self) -> None:
        panel = self.query_one("#processes", TablePanel)
        processes = self.view.processes if self.view is not None else []
        shown = shown_processes(processes, self.order, self.name_filter)
        panel.show([process_row(p) for p in shown], keys=[str(p.pid) for p in shown])
        title = f"AI processes · {len(shown)} of {len(processes)} · sort {self.order.describe()}"
        if self.name_filter:
            title += f" · filter “{self.name_filter}”"
        panel.border_title = title

    # -- keys ------------------------------------------------------------------------------

    def action_sort(self, key: SortKey) -> None:
        self.order = self.order.pressed(key)
        self._draw_processes()

    def action_open_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.display = True
        self.screen.set_focus(field)  # now: keys typed right after "/" are the filter's

    def action_clear_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.value = ""
        field.display = False
        self.name_filter = ""
        self.query_one("#processes", TablePanel).table.focus()
        self._draw_processes()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.name_filter = event.value
        self._draw_processes()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.query_one("#processes", TablePanel).table.focus()

    def action_faster(self) -> None:
        self._pace(faster(self.refresh_s))

    def action_slower(self) -> None:
        self._pace(slower(self.refresh_s))

    def _pace(self, seconds: float) -> None:
        if seconds == self.refresh_s:
            return
        self.refresh_s = seconds
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(seconds, self._look_soon)
        self._draw_header()

    def processes_table(self) -> DataTable[str]:
        """The process table (for whoever drives the app, e.g. tests)."""
        return self.query_one("#processes", TablePanel).table
