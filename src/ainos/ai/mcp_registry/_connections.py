"""Sessions with registered servers for a synchronous caller (the agent's tools run in its
loop's thread): one event loop on a background thread, started on first use; one client
session per server, opened on its first use and kept until :meth:`McpConnections.close`.

A server that cannot start is remembered with its error: every later use of it raises that
error again rather than starting it over and over within one session.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import MCPError

from ainos.ai.mcp_registry._client import (
    DEFAULT_STARTUP_TIMEOUT_S,
    Connection,
    connect,
    list_all_tools,
)
from ainos.ai.mcp_registry._consent import ANY_HOST
from ainos.ai.mcp_registry._database import McpDatabase
from ainos.ai.mcp_registry._entry import ServerEntry
from ainos.ai.mcp_registry._launch import describe
from ainos.errors import AinosError, McpServerError, McpServerNotFound

__all__ = ["McpConnections"]

_CLOSE_WAIT_S = 10.0
_PARALLEL_OPENS = 4


@dataclass
class _Session:
    connection: Connection
    tools: list[mcp_types.Tool]
    stop: anyio.Event
    done: Future[Any] | None = field(default=None)


class McpConnections:
    """Client sessions with ``entries``' servers, as ``client_name`` running them for
    ``host``. Thread-safe; :meth:`close` ends them all (and is also run at exit)."""

    def __init__(
        self,
        entries: Iterable[ServerEntry],
        *,
        client_name: str,
        host: str = ANY_HOST,
        database: McpDatabase | None = None,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        call_timeout_s: float = 300.0,
    ) -> None:
        self.entries: Mapping[str, ServerEntry] = {e.id: e for e in entries}
        self._client_name = client_name
        self._host = host
        self._database = database
        self._startup_timeout_s = startup_timeout_s
        self._call_timeout_s = call_timeout_s
        self._lock = threading.Lock()
        self._server_locks = {server_id: threading.Lock() for server_id in self.entries}
        self._portal_context: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._sessions: dict[str, _Session] = {}
        self._failures: dict[str, AinosError] = {}
        self._closed = False

    def __enter__(self) -> McpConnections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the event loop ---------------------------------------------------------------

    def _loop(self) -> BlockingPortal:
        with self._lock:
            if self._closed:
                raise McpServerError("the MCP client sessions are closed")
            if self._portal is None:
                self._portal_context = start_blocking_portal(name="ainos-mcp-clients")
                self._portal = self._portal_context.__enter__()
                atexit.register(self.close)
            return self._portal

    # -- sessions ------------------------------------------------------------------------

    def _entry(self, server_id: str) -> ServerEntry:
        entry = self.entries.get(server_id)
        if entry is None:
            raise McpServerNotFound(f"no MCP server {server_id!r} in this session")
        return entry

    async def _hold(self, entry: ServerEntry, *, task_status: TaskStatus[_Session]) -> None:
        """Open the session, list the tools, report it ready, keep it until told to stop."""
        async with connect(
            entry,
            client_name=self._client_name,
            host=self._host,
            database=self._database,
            startup_timeout_s=self._startup_timeout_s,
        ) as connection:
            with anyio.fail_after(self._startup_timeout_s):
                tools = await list_all_tools(connection.client)
            session = _Session(connection, tools, anyio.Event())
            task_status.started(session)
            await session.stop.wait()

    def _session(self, server_id: str) -> _Session:
        entry = self._entry(server_id)
        with self._server_locks[server_id]:
            if server_id in self._sessions:
                return self._sessions[server_id]
            if server_id in self._failures:
                raise self._failures[server_id]
            portal = self._loop()
            try:
                done, started = portal.start_task(self._hold, entry)
            except AinosError as exc:  # it cannot start, or must not (no sandbox)
                self._failures[server_id] = exc
                raise
            except Exception as exc:  # the SDK's or its transports' own errors
                failure = McpServerError(f"MCP server {server_id!r} failed: {describe(exc)}")
                self._failures[server_id] = failure
                raise failure from exc
            session: _Session = started
            session.done = done
            self._sessions[server_id] = session
            return session

    def open_all(self) -> dict[str, AinosError | None]:
        """Open every server's session at once; what failed, by id."""

        def attempt(server_id: str) -> AinosError | None:
            try:
                self._session(server_id)
            except AinosError as exc:
                return exc
            return None

        ids = list(self.entries)
        if not ids:
            return {}
        with ThreadPoolExecutor(min(_PARALLEL_OPENS, len(ids))) as pool:
            return dict(zip(ids, pool.map(attempt, ids), strict=True))

    def tools(self, server_id: str) -> list[mcp_types.Tool]:
        """The tools ``server_id`` offers (those its filters let clients see)."""
        return list(self._session(server_id).tools)

    def call(
        self,
        server_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        timeout_s: float | None = None,
    ) -> mcp_types.CallToolResult:
        """Call ``tool``; a tool's own failure is a result with ``is_error``, anything else
        (a refused call, a dead server, no answer in time) :class:`McpServerError`."""
        session = self._session(server_id)
        portal = self._loop()
        limit = timeout_s if timeout_s is not None else self._call_timeout_s

        async def call() -> mcp_types.CallToolResult:
            with anyio.fail_after(limit):
                return await session.connection.client.call_tool(tool, dict(arguments))

        try:
            return portal.call(call)
        except TimeoutError as exc:
            raise McpServerError(
                f"MCP server {server_id!r} did not answer {tool} within {limit:g} s"
            ) from exc
        except Exception as exc:
            launched = session.connection.launched
            if launched.exit_status() is not None:  # it died: say how
                raise launched.failure(exc) from exc
            message = exc.error.message if isinstance(exc, MCPError) else describe(exc)
            raise McpServerError(f"MCP server {server_id!r}: {message}") from exc

    def close(self) -> None:
        """End every session (stopping the servers) and the event loop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            portal, context = self._portal, self._portal_context
            sessions = list(self._sessions.values())
            self._sessions.clear()
        if portal is None or context is None:
            return
        atexit.unregister(self.close)
        for session in sessions:
            portal.call(session.stop.set)
        for session in sessions:
            if session.done is not None:
                with suppress(Exception):
                    session.done.result(timeout=_CLOSE_WAIT_S)
        context.__exit__(None, None, None)
