"""``ainos top``: a live view of the machine in the terminal (textual) — devices with
sparklines, AI processes, the scheduler's classes, the pinned pool, models and who holds
them, agents and recent actions — read from a running daemon, or from a runtime in its own
process when none runs.

Importing this package imports textual: the command imports it only when it runs.
"""

from ainos.app.tui._app import TopApp
from ainos.app.tui._refresh import MAX_REFRESH_S, MIN_REFRESH_S, check_refresh
from ainos.app.tui._sources import DaemonSource, InProcessSource, ViewSource, open_source

__all__ = [
    "MAX_REFRESH_S",
    "MIN_REFRESH_S",
    "DaemonSource",
    "InProcessSource",
    "TopApp",
    "ViewSource",
    "check_refresh",
    "open_source",
]
