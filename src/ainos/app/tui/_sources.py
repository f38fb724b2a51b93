"""Where the views come from: a running daemon's API, or a runtime started in this process
when no daemon runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ainos.app.monitor import fetch_view
from ainos.errors import AinosError
from ainos.protocol.monitor import MachineView

if TYPE_CHECKING:
    from ainos.app.api import DaemonApi
    from ainos.app.monitor import Monitor
    from ainos.app.runtime import Runtime

__all__ = ["DaemonSource", "InProcessSource", "ViewSource", "open_source"]

_API_TIMEOUT_S = 10.0  # a daemon that stops answering shows as a failed look, not a hang
_SAMPLER_HZ = 2.0  # the viewer's own runtime samples no faster than it can be looked at


class ViewSource(Protocol):
    """Takes one look at the machine (in a worker thread, one look at a time)."""

    @property
    def where(self) -> str:
        """What the header says the view is read from."""
        ...

    def __call__(self) -> MachineView: ...


class DaemonSource:
    """Views the daemon serving ``socket_path`` answers at ``GET /ainos/view``. A failed look
    drops the connection: the next one finds the daemon again, wherever it listens now."""

    def __init__(self, url: str, socket_path: Path | None = None) -> None:
        self._url = url
        self._socket_path = socket_path
        self._api: DaemonApi | None = None

    @property
    def where(self) -> str:
        return f"daemon at {self._url}"

    def __call__(self) -> MachineView:
        if self._api is None:
            from ainos.app.api import DaemonApi, daemon_api_url

            self._url = daemon_api_url(self._socket_path) or self._url
            self._api = DaemonApi(self._url, client_name="ainos-top", timeout_s=_API_TIMEOUT_S)
        try:
            return fetch_view(self._api)
        except AinosError:
            self.close()
            raise

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


class InProcessSource:
    """Views of a runtime of this process, started by the first look (loading the model
    runtimes takes seconds: in the worker, not before the screen shows)."""

    def __init__(self, where: str = "in-process runtime") -> None:
        self.where = where
        self._lock = threading.Lock()  # a look and close() never overlap
        self._runtime: Runtime | None = None
        self._monitor: Monitor | None = None
        self._closed = False

    def __call__(self) -> MachineView:
        with self._lock:
            if self._closed:
                raise AinosError("the in-process runtime is closed")
            if self._monitor is None:
                self._monitor = self._start()
            return self._monitor.look()

    def _start(self) -> Monitor:
        from ainos.app.monitor import Monitor
        from ainos.app.runtime import Runtime, RuntimeConfig
        from ainos.kernel.control import ServicesConfig

        kernel = ServicesConfig(
            pool_bytes=4 * 1024 * 1024, lock_pool=False, sampler_rate_hz=_SAMPLER_HZ
        )
        runtime = Runtime(RuntimeConfig(kernel=kernel))
        try:
            runtime.start()
        except BaseException:
            runtime.close()  # the next look starts one anew
            raise
        self._runtime = runtime
        return Monitor(runtime)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._monitor is not None:
                self._monitor.close()
            if self._runtime is not None:
                self._runtime.close()


def open_source(
    socket_path: Path | None, *, in_process: bool = False
) -> DaemonSource | InProcessSource:
    """The daemon's views when one runs (unless ``in_process``), this process's otherwise."""
    if in_process:
        return InProcessSource("in-process runtime (--in-process)")
    from ainos.app.api import daemon_api_url

    url = daemon_api_url(socket_path)
    if url is not None:
        return DaemonSource(url, socket_path)
    return InProcessSource("in-process runtime (no daemon API found)")
