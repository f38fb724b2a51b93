"""Running the daemon in the foreground until SIGINT or SIGTERM, then draining."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from ainos.kernel.control._server import ControlServer
from ainos.kernel.control._services import KernelServices, ServicesConfig

__all__ = ["serve_forever"]

_log = logging.getLogger(__name__)


def serve_forever(
    path: Path,
    services: KernelServices | None = None,
    *,
    on_ready: Callable[[ControlServer], None] | None = None,
    on_stopping: Callable[[int], None] | None = None,
) -> None:
    """Serve until a signal asks to stop: then stop accepting, let jobs finish (or cancel
    them after the drain timeout), end the connections, free the pool, remove the socket.
    """
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    services = (services or KernelServices(ServicesConfig())).start()
    try:
        server = ControlServer(services, path)
    except BaseException:
        services.close()
        raise
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    accept = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="ainos-accept"
    )
    try:
        # Ready before accepting: a client that connects early waits in the backlog and
        # then finds everything (the HTTP endpoint, say) in place.
        if on_ready is not None:
            on_ready(server)
        accept.start()
        while not stop.wait(0.5):
            pass
    finally:
        if accept.is_alive():
            server.shutdown()  # no new connections
            accept.join()
            if on_stopping is not None:
                on_stopping(server.connection_count)
        unfinished = services.drain()
        if unfinished:
            _log.warning("cancelling %d unfinished jobs", unfinished)
        services.scheduler.close()  # cancels what is left: waiting clients get answers
        server.close_connections()
        server.server_close()
        services.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
