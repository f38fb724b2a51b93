"""MCP over Streamable HTTP: the SDK's session manager behind ainos's door — a request whose
``Host`` or ``Origin`` is not this server's is refused (403, against DNS rebinding), and
with a token set, one without ``Authorization: Bearer <token>`` too (401). A non-loopback
bind needs a token.

``http_app`` is what ``ainos mcp-server --http`` serves; ``mount`` gives the same door as a
route and a lifespan for ``ainos serve`` to put at ``/mcp`` beside its API.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ainos.app.api import normalised_origin
from ainos.errors import InvalidArgument

__all__ = ["HttpDoor", "http_app", "mcp_endpoint", "mount", "serve_http"]

TOKEN_ENV = "AINOS_MCP_TOKEN"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def _is_loopback(host: str) -> bool:
    from ainos.app.api import is_loopback

    return is_loopback(host)


def _name(authority: str) -> str:
    """The host name of ``host[:port]`` (``[v6]:port`` included)."""
    if authority.startswith("["):
        return authority[: authority.find("]") + 1] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


@dataclass(frozen=True)
class HttpDoor:
    """Who may come in: ``hosts`` the names the server answers to (any port), ``token``
    the bearer token required (None: none), ``origins`` the browser origins
    (``scheme://host[:port]``) allowed beside pages on those hosts."""

    hosts: frozenset[str]
    token: str | None = None
    origins: frozenset[str] = frozenset()

    @classmethod
    def for_bind(
        cls,
        host: str,
        token: str | None,
        extra_hosts: Sequence[str] = (),
        extra_origins: Sequence[str] = (),
    ) -> HttpDoor:
        if not _is_loopback(host) and not token:
            raise InvalidArgument(
                f"--host {host} is reachable from other machines: set --token (or {TOKEN_ENV})"
            )
        names = set(_LOOPBACK_NAMES) | {h.lower() for h in extra_hosts}
        if host not in ("0.0.0.0", "::"):
            names.add(f"[{host}]" if ":" in host else host)
        origins = frozenset(normalised_origin(o) for o in extra_origins)
        return cls(frozenset(n.lower() for n in names), token, origins)

    def refusal(self, headers: Headers) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if _name(host.lower()) not in self.hosts:
            return 403, f"Host {host!r} is not this server"
        origin = headers.get("origin")
        if origin is not None and normalised_origin(origin) not in self.origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in {
                h.strip("[]") for h in self.hosts
            }:
                return 403, f"Origin {origin!r} may not call this server"
        if self.token is not None:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(given, self.token):
                return 401, "missing or wrong bearer token"
        return None


class _Guarded:
    """The MCP endpoint behind the door."""

    def __init__(self, inner: ASGIApp, door: HttpDoor) -> None:
        self._inner = inner
        self._door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._door.refusal(Headers(scope=scope))
            if refusal is not None:
                status, message = refusal
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}}
                await JSONResponse(body, status, headers=headers)(scope, receive, send)
                return
        await self._inner(scope, receive, send)


class _StopSignal(Protocol):
    async def begun_within(self, seconds: float) -> bool: ...


class _EndsWhenStopping:
    """A client's standing GET stream (the server's own messages) ends as soon as the server
    begins to stop: it only waits for events, and would hold the shutdown for the whole
    drain timeout. Requests (POST) are work and keep the drain."""

    _FOREVER_S = 365 * 24 * 3600.0

    def __init__(self, inner: ASGIApp, stopping: _StopSignal) -> None:
        self._inner = inner
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self._inner(scope, receive, send)
            return
        async with anyio.create_task_group() as streams:

            async def end_when_stopping() -> None:
                if await self._stopping.begun_within(self._FOREVER_S):
                    streams.cancel_scope.cancel()

            streams.start_soon(end_when_stopping)
            await self._inner(scope, receive, send)
            streams.cancel_scope.cancel()


def mcp_endpoint(
    server: Any, door: HttpDoor
) -> tuple[ASGIApp, Callable[[], contextlib.AbstractAsyncContextManager[None]]]:
    """The guarded endpoint and the lifespan that must run around it (the SDK's session
    manager)."""
    manager = StreamableHTTPSessionManager(
        app=server,
        # The door above checks Host and Origin (403 for both); the SDK's own check would
        # answer 421 for a wrong Host.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return _Guarded(StreamableHTTPASGIApp(manager), door), manager.run


def http_app(server: Any, door: HttpDoor, path: str = "/mcp") -> Starlette:
    endpoint, run = mcp_endpoint(server, door)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with run():
            yield

    return Starlette(routes=[Route(path, endpoint=endpoint)], lifespan=lifespan)


def serve_http(
    server: Any, host: str, port: int, door: HttpDoor, on_ready: Callable[[str], None]
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready`` gets the endpoint's URL."""
    import signal
    import threading

    from ainos.app.api import HttpServer

    http = HttpServer(http_app(server, door), host, port).start()
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        on_ready(f"{http.url}/mcp")
        stop.wait()
    finally:
        http.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def mount(app: Starlette, server: Any, door: HttpDoor, path: str = "/mcp") -> None:
    """Serve MCP at ``path`` of ``app`` (``ainos serve``'s API): the route goes first, and
    the session manager runs inside the app's own lifespan. Routes are added in place so
    the API's requests pay no extra hop."""
    endpoint, run = mcp_endpoint(server, door)
    stopping = getattr(app.state, "stopping", None)  # the API's: begins with the shutdown
    if stopping is not None:
        endpoint = _EndsWhenStopping(endpoint, stopping)
    app.router.routes.insert(0, Route(path, endpoint=endpoint))
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(owner: Any) -> AsyncIterator[Any]:
        async with inner(owner) as state, run():
            yield state

    app.router.lifespan_context = lifespan
