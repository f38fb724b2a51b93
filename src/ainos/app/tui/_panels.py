"""The screen's panels: devices with sparklines, the pinned pool with its bar, and the
tables (processes, scheduler classes, models, agents, actions)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, ProgressBar, Sparkline, Static

from ainos.app.tui._history import DeviceHistory
from ainos.app.tui._rows import device_summaries, pool_line
from ainos.protocol.memory import MemoryPoolStats
from ainos.protocol.monitor import MachineView

__all__ = ["DeviceMeter", "DevicesPanel", "PoolPanel", "TablePanel"]


class DeviceMeter(Vertical):
    """One device: its figures now, and sparklines of utilisation and memory use."""

    def __init__(self, key: str, summary: str, util: list[float], memory: list[float]) -> None:
        super().__init__(id=f"device-{key.replace(':', '-')}", classes="device")
        self.key = key
        self._summary, self._util, self._memory = summary, util, memory

    def compose(self) -> ComposeResult:
        yield Static(self._summary, classes="summary", markup=False)
        with Horizontal(classes="lines"):
            yield Label("util", classes="line-label")
            yield Sparkline(self._util, classes="util")
            yield Label("mem", classes="line-label")
            yield Sparkline(self._memory, classes="memory")

    def show(self, summary: str, util: list[float], memory: list[float]) -> None:
        self.query_one(".summary", Static).update(summary)
        self.query_one(".util", Sparkline).data = util
        self.query_one(".memory", Sparkline).data = memory


class DevicesPanel(VerticalScroll):
    """A meter per device of the view: the CPU, then each GPU."""

    def show(self, view: MachineView, history: DeviceHistory) -> None:
        summaries = device_summaries(view)
        meters = {meter.key: meter for meter in self.query(DeviceMeter)}
        if list(meters) != list(summaries):  # devices came or went: draw the panel anew
            self.remove_children()
            self.mount_all(
                DeviceMeter(key, line, history.utilization(key), history.memory(key))
                for key, line in summaries.items()
            )
            return
        for key, line in summaries.items():
            meters[key].show(line, history.utilization(key), history.memory(key))


class PoolPanel(Vertical):
    """The pinned pool: its figures and a bar of the share in use."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="summary", markup=False)
        yield ProgressBar(total=None, show_eta=False, classes="bar")

    def show(self, pool: MemoryPoolStats | None) -> None:
        self.query_one(".summary", Static).update(pool_line(pool))
        bar = self.query_one(ProgressBar)
        if pool is None or not pool.total_bytes:
            bar.update(total=None, progress=0)
        else:
            bar.update(total=pool.total_bytes, progress=pool.used_bytes)


class TablePanel(Vertical):
    """A titled table whose rows are replaced by each look."""

    def __init__(self, title: str, columns: Sequence[str], *, id: str) -> None:
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self._columns = columns

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*self._columns)
        yield table

    @property
    def table(self) -> DataTable[str]:
        return self.query_one(DataTable)

    def show(self, rows: Sequence[tuple[str, ...]], keys: Sequence[str] | None = None) -> None:
        """Replace the rows, keeping the cursor on the row of the same key."""
        table = self.table
        kept = None
        if keys is not None and table.row_count:
            kept = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for index, row in enumerate(rows):
            table.add_row(*row, key=None if keys is None else keys[index])
        if kept is not None and keys is not None and kept in keys:
            table.move_cursor(row=keys.index(kept), animate=False)
