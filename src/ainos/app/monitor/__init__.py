"""The machine at one moment, for the live views (``ainos top``, the web dashboard): devices,
AI processes, scheduler classes, the pinned pool, models and who holds them, recent action
invocations and agent runs (:class:`~ainos.protocol.monitor.MachineView`).

A :class:`Monitor` looks at a runtime in its own process; the daemon serves the same view
at ``GET /ainos/view`` on its API, which :func:`fetch_view` reads.
"""

from ainos.app.monitor._monitor import VIEW_PATH, Monitor, fetch_view

__all__ = ["VIEW_PATH", "Monitor", "fetch_view"]
