"""Moving messages between a client and a server through the message filter, on the SDK's
streams of ``SessionMessage`` (whatever the transports on either side: stdio, Streamable
HTTP, memory)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, Protocol

import anyio
from mcp.client._transport import TransportStreams
from mcp.shared.message import ClientMessageMetadata, SessionMessage
from mcp_types import JSONRPCMessage

from ainos.ai.mcp_registry._filter import MessageFilter

__all__ = ["Stamp", "filtered_streams", "relay"]

_log = logging.getLogger(__name__)
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream)

Side = Literal["client", "server"]


class Stamp(Protocol):
    """What a transport needs beside a message that the client did not attach (the HTTP
    headers an SDK client session would have set), learnt from the traffic."""

    def outgoing(self, message: JSONRPCMessage) -> ClientMessageMetadata | None: ...

    def incoming(self, message: JSONRPCMessage) -> None: ...


async def relay(
    client: TransportStreams,
    server: TransportStreams,
    message_filter: MessageFilter,
    *,
    stamp: Stamp | None = None,
) -> Side:
    """Relay until one side closes (or goes away); which side it was. Calls still waiting
    then are audited as unanswered."""
    client_read, client_write = client
    server_read, server_write = server
    ended: list[Side] = []

    async def upstream(stop: anyio.CancelScope) -> None:
        try:
            async for item in client_read:
                if isinstance(item, Exception):  # a line that is no JSON-RPC message
                    _log.warning("dropped a malformed message from the client: %s", item)
                    continue
                verdict = message_filter.from_client(item.message)
                if verdict.allowed:
                    metadata = item.metadata
                    if metadata is None and stamp is not None:
                        metadata = stamp.outgoing(verdict.message)
                    await server_write.send(SessionMessage(verdict.message, metadata))
                else:
                    await client_write.send(SessionMessage(verdict.message))
        except _GONE:
            pass
        ended.append("client")
        stop.cancel()

    async def downstream(stop: anyio.CancelScope) -> None:
        try:
            async for item in server_read:
                if isinstance(item, Exception):
                    _log.warning("dropped a malformed message from the server: %s", item)
                    continue
                if stamp is not None:
                    stamp.incoming(item.message)
                verdict = message_filter.from_server(item.message)
                await client_write.send(SessionMessage(verdict.message, item.metadata))
        except _GONE:
            pass
        ended.append("server")
        stop.cancel()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(upstream, group.cancel_scope)
            group.start_soon(downstream, group.cancel_scope)
    finally:
        message_filter.close()
    return ended[0] if ended else "client"


@asynccontextmanager
async def filtered_streams(
    server: TransportStreams, message_filter: MessageFilter
) -> AsyncIterator[TransportStreams]:
    """Streams for an in-process client (the SDK's ``Client``) whose every message goes
    through ``message_filter`` to ``server``. The client sees the end of the stream when the
    server goes away."""
    to_server, from_client = anyio.create_memory_object_stream[SessionMessage](0)
    to_client, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](0)

    async def run() -> None:
        async with to_client:
            await relay((from_client, to_client), server, message_filter)

    async with anyio.create_task_group() as group, from_server, from_client:
        group.start_soon(run)
        try:
            yield from_server, to_server
        finally:
            await to_server.aclose()  # the relay's client side ends: it stops
