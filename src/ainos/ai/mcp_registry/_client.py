"""ainos as a client of a registered server: the SDK's ``Client``, every message through the
message filter (tool filters, audit), the server started as the registry says (contained
under its grants)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace

import anyio
import mcp_types
from mcp import Client
from mcp.client._transport import TransportStreams

from ainos import __version__
from ainos.ai.mcp_registry._audit import AuditLog
from ainos.ai.mcp_registry._consent import ANY_HOST, ConsentStore
from ainos.ai.mcp_registry._database import McpDatabase
from ainos.ai.mcp_registry._entry import ServerEntry
from ainos.ai.mcp_registry._filter import MessageFilter
from ainos.ai.mcp_registry._launch import Launched, describe, launch, single_error
from ainos.ai.mcp_registry._registry import McpRegistry
from ainos.ai.mcp_registry._relay import filtered_streams
from ainos.errors import AinosError, McpServerError

__all__ = ["DEFAULT_STARTUP_TIMEOUT_S", "Connection", "connect", "list_all_tools", "server_tools"]

DEFAULT_STARTUP_TIMEOUT_S = 30.0
_MAX_PAGES = 100  # a paginating server that never ends cannot hang a listing


@dataclass
class Connection:
    """An open client session with a server, and the server's state (how it ended)."""

    client: Client
    launched: Launched


def _given(streams: TransportStreams) -> AbstractAsyncContextManager[TransportStreams]:
    @asynccontextmanager
    async def transport() -> AsyncIterator[TransportStreams]:
        yield streams

    return transport()


@asynccontextmanager
async def connect(
    entry: ServerEntry,
    *,
    client_name: str = "ainos",
    host: str = ANY_HOST,
    database: McpDatabase | None = None,
    unfiltered: bool = False,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
) -> AsyncIterator[Connection]:
    """A session with ``entry``'s server, as ``client_name`` running it for ``host`` (whose
    grants, and ``*``'s, shape its sandbox). ``unfiltered`` lifts the tool filters (to show
    every tool a server has); the audit still sees every call.

    A server that cannot start, dies, or does not answer its handshake within
    ``startup_timeout_s`` raises :class:`McpServerError` with its exit status and the last
    lines of its stderr."""
    database = database or McpDatabase()
    grants = ConsentStore(database).grants(entry.id, host=host)
    seen = replace(entry, enabled_tools=None, disabled_tools=()) if unfiltered else entry
    message_filter = MessageFilter(seen, host=host, audit=AuditLog(database).append)
    info = mcp_types.Implementation(name=client_name, version=__version__)
    started: list[Launched] = []
    ready = False
    try:
        with single_error():
            async with launch(entry, grants=grants) as launched:
                started.append(launched)
                async with filtered_streams(launched.streams, message_filter) as streams:
                    # The timeout of every request without its own (the handshake, listings):
                    # the handshake's task groups outlive it, so no cancel scope may wrap it.
                    client = Client(
                        _given(streams), client_info=info, read_timeout_seconds=startup_timeout_s
                    )
                    async with client:
                        ready = True
                        yield Connection(client, launched)
    except AinosError:
        raise  # ours already say what happened (no sandbox, a refused start …)
    except Exception as exc:
        if ready:
            raise  # the caller's own error
        # Said once the server is stopped: its exit status is known by then.
        if started:
            raise started[0].failure(exc, starting=True) from exc
        raise McpServerError(f"MCP server {entry.id!r} failed: {describe(exc)}") from exc


async def list_all_tools(client: Client) -> list[mcp_types.Tool]:
    """Every tool of the server, through all pages."""
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def server_tools(
    entry: ServerEntry,
    *,
    registry: McpRegistry | None = None,
    client_name: str = "ainos",
    host: str = ANY_HOST,
    database: McpDatabase | None = None,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
) -> list[mcp_types.Tool]:
    """Every tool ``entry``'s server has (its filters lifted: this is what there is to
    enable or disable), kept as the server's last listing. Blocks; runs its own event
    loop."""

    async def fetch() -> list[mcp_types.Tool]:
        async with connect(
            entry,
            client_name=client_name,
            host=host,
            database=database,
            unfiltered=True,
            startup_timeout_s=startup_timeout_s,
        ) as connection:
            with anyio.fail_after(startup_timeout_s):
                return await list_all_tools(connection.client)

    tools = anyio.run(fetch)
    wire = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools]
    (registry or McpRegistry()).save_listing(entry.id, wire)
    return tools
