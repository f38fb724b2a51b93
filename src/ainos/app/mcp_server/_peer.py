"""The client on the other end of one request: raw notifications and requests on the
request's own channel (its POST's event stream over HTTP), and the connection it came on.

Everything here that reaches past the SDK's public surface is in this one module. The SDK's
typed ``send_request`` validates a reply against the spec's result shape, and Codex clients
answer an approval with ``{"decision": …}``, not ``{"action": …}``; custom methods
(``codex/event``) have no typed model at all. So requests and notifications go out raw, on
the same request-scoped channel the typed calls use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mcp.server import ServerRequestContext
from mcp.shared.dispatcher import CallOptions
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

__all__ = ["ConnectionPeer", "Peer", "RequestPeer", "connection_key", "sdk_connection"]


class Peer(Protocol):
    """Where a turn's notifications and questions go (a tool call's channel, or the
    connection's for the plan's ``sendUserMessage``)."""

    @property
    def request_id(self) -> str | int | None: ...

    @property
    def can_ask(self) -> bool: ...

    async def notify(self, method: str, params: dict[str, Any]) -> None: ...

    async def request(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]: ...

    async def progress(self, progress: float, total: float | None, message: str | None) -> None: ...


def sdk_connection(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The SDK's object for the client connection ``ctx`` came on (it sends the
    connection-wide notifications: list changes, resource updates)."""
    return ctx.session._connection


def connection_key(ctx: ServerRequestContext[Any, Any]) -> int:
    """One value per client connection (a stdio pipe, an HTTP session), the same for every
    request that connection makes."""
    return id(ctx.session._connection)


class _Channel:
    """Raw notifications and requests on one of the SDK's outbound channels."""

    def __init__(self, outbound: Any) -> None:
        self._outbound = outbound

    async def notify(self, method: str, params: Mapping[str, Any]) -> None:
        await self._outbound.notify(method, params)

    async def request(
        self, method: str, params: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        options: CallOptions = {}
        if timeout is not None:
            options["timeout"] = timeout
        return dict(await self._outbound.send_raw_request(method, params, options or None))


class RequestPeer(_Channel):
    """The back-channel of one inbound request."""

    def __init__(self, ctx: ServerRequestContext[Any, Any]) -> None:
        super().__init__(ctx.session._request_outbound)
        self._ctx = ctx

    @property
    def request_id(self) -> str | int | None:
        return self._ctx.request_id

    @property
    def can_ask(self) -> bool:
        """Whether the client can be sent a request now (2026-07-28 connections cannot:
        that era has no server-to-client requests)."""
        return bool(self._outbound.can_send_request)

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """MCP progress against the caller's token; nothing when it asked for none."""
        await self._ctx.session.report_progress(progress, total, message)


class ConnectionPeer(_Channel):
    """The connection's own channel, for work that outlives the request that started it
    (the plan's ``sendUserMessage`` answers at once; its turn's events and questions
    follow on the connection)."""

    def __init__(self, ctx: ServerRequestContext[Any, Any]) -> None:
        super().__init__(ctx.session._connection.outbound)
        self._can_ask = ctx.session.protocol_version not in MODERN_PROTOCOL_VERSIONS

    @property
    def request_id(self) -> None:
        return None

    @property
    def can_ask(self) -> bool:
        return self._can_ask

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        return None  # no request to report progress against
