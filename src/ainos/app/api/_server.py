"""Serving an ASGI app with uvicorn on a thread of the daemon, on a socket bound up front
(so port 0 works and the address is known before the first request)."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import uvicorn
from starlette.types import ASGIApp

from ainos.app.api._limits import HttpLimits, LimitedHttpProtocol
from ainos.errors import AinosError, InvalidArgument

__all__ = ["HttpServer", "is_loopback"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpServer:
    def __init__(
        self, app: ASGIApp, host: str, port: int, limits: HttpLimits | None = None
    ) -> None:
        if not 0 <= port <= 65535:
            raise InvalidArgument(f"port must be between 0 and 65535, got {port}")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named explicitly: asyncio then sets TCP_NODELAY on accepted connections;
        # without it, a response body written after its headers waits ~40 ms for an ACK.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise AinosError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._socket.listen(1024)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        limits = limits or HttpLimits()
        protocol = functools.partial(LimitedHttpProtocol, limits=limits)
        config = uvicorn.Config(
            app,
            http=cast(Any, protocol),  # uvicorn calls it with its config, as it would a class
            log_level="warning",
            access_log=False,
            # No proxy stands before the daemon: X-Forwarded-For from a local process would
            # only let it pose as another address (and checking it parsed addresses per request).
            proxy_headers=False,
            lifespan="on",
            timeout_keep_alive=limits.keep_alive_s,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="ainos-http"
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> HttpServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AinosError(f"the HTTP server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(
        self,
        grace: float = 30.0,
        on_overdue: Callable[[], None] | None = None,
        on_stopping: Callable[[], None] | None = None,
    ) -> None:
        """Stop accepting and call ``on_stopping`` (which should end the streams that only
        watch: the app's ``Stopping.begin``), give requests in progress ``grace`` seconds,
        then call ``on_overdue`` (which should end them: the app's ``Stopping.cancel_all``)
        and give them a little more to answer; connections still open after that are
        dropped."""
        self._server.should_exit = True
        if on_stopping is not None:
            on_stopping()
        if self._thread.is_alive():
            self._thread.join(timeout=grace)
        if self._thread.is_alive() and on_overdue is not None:
            on_overdue()
            self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._socket.close()
