"""``ainos mcp run``: a registered server for a client on our stdin and stdout — the client's
messages go through the message filter to the server (started contained if it must be, or
reached over Streamable HTTP), and back."""

from __future__ import annotations

import sys
from typing import Any

from mcp.server.stdio import stdio_server
from mcp.shared.message import ClientMessageMetadata
from mcp_types import (
    PROTOCOL_VERSION_META_KEY,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)

from ainos.ai.mcp_registry._audit import AuditLog
from ainos.ai.mcp_registry._consent import ANY_HOST, ConsentStore
from ainos.ai.mcp_registry._database import McpDatabase
from ainos.ai.mcp_registry._entry import ServerEntry
from ainos.ai.mcp_registry._filter import MessageFilter
from ainos.ai.mcp_registry._launch import Launched, launch, single_error
from ainos.ai.mcp_registry._relay import relay
from ainos.ai.mcp_registry._stdin import StoppableStdin

__all__ = ["HttpStamp", "serve_stdio"]

# Methods whose requests name their target (the Streamable HTTP `Mcp-Name` header).
_NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


class HttpStamp:
    """The per-message HTTP headers the SDK's own client session would set, for messages
    from a stdio client bound for a Streamable HTTP server: the protocol version (from the
    2026 ``_meta``, or the version an ``initialize`` settled on) and the method."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._initialize_ids: set[Any] = set()

    def outgoing(self, message: JSONRPCMessage) -> ClientMessageMetadata | None:
        if not isinstance(message, (JSONRPCRequest, JSONRPCNotification)):
            return self._plain()
        params = message.params or {}
        meta = params.get("_meta")
        modern = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
        if isinstance(message, JSONRPCRequest) and message.method == "initialize":
            self._initialize_ids.add(message.id)
            return None  # the handshake itself carries no version header
        if isinstance(modern, str):
            headers = {"mcp-protocol-version": modern, "mcp-method": message.method}
            key = _NAMED.get(message.method)
            if key is not None and isinstance(params.get(key), str):
                headers["mcp-name"] = params[key]
            return ClientMessageMetadata(headers=headers)
        return self._plain()

    def _plain(self) -> ClientMessageMetadata | None:
        if self._version is None:
            return None
        return ClientMessageMetadata(headers={"mcp-protocol-version": self._version})

    def incoming(self, message: JSONRPCMessage) -> None:
        if isinstance(message, JSONRPCResponse) and message.id in self._initialize_ids:
            self._initialize_ids.discard(message.id)
            version = message.result.get("protocolVersion")
            self._version = version if isinstance(version, str) else None


async def serve_stdio(
    entry: ServerEntry, *, host: str = ANY_HOST, database: McpDatabase | None = None
) -> None:
    """Serve ``entry`` to the client on our stdin/stdout until either side ends. The
    server's stderr goes to ours. A server that ends the session by failing raises
    :class:`McpServerError` with its exit status and its last stderr lines."""
    database = database or McpDatabase()
    grants = ConsentStore(database).grants(entry.id, host=host)
    message_filter = MessageFilter(entry, host=host, audit=AuditLog(database).append)
    stamp = HttpStamp() if entry.remote else None
    stdin = StoppableStdin()
    started: list[Launched] = []
    ended = "client"
    try:
        with single_error():
            async with launch(entry, grants=grants, echo_stderr=sys.stderr) as launched:
                started.append(launched)
                async with stdio_server(stdin=stdin.file) as (read, write):
                    try:
                        ended = await relay(
                            (read, write), launched.streams, message_filter, stamp=stamp
                        )
                    finally:
                        await write.aclose()
                        stdin.stop()
    finally:
        stdin.close()
    if ended == "server" and started:
        status = started[0].exit_status()
        if status not in (0, None) or entry.remote:
            raise started[0].failure("it ended the session")
