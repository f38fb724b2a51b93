"""MCP over stdin/stdout. The SDK's stdio transport hands a line that is not a JSON-RPC
message to the session as an exception, and the session drops it: the client waits for an
answer that never comes. Here such a line gets its JSON-RPC error — -32700 for text that
is not JSON, -32600 for JSON that is not a request — and the server reads on."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

__all__ = ["error_for", "serve_stdio"]

log = logging.getLogger(__name__)


def _request_id(raw: object) -> str | int | None:
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return None


def _message_of(errors: Sequence[Mapping[str, Any]]) -> object:
    """The line's JSON value as read: the input of an error about the message itself (not
    an object, or a member missing), not that of an error about one of its fields (a wrong
    ``jsonrpc`` or ``method`` value), which would lose the request's id."""
    for error in errors:
        loc = tuple(error.get("loc") or ())
        if len(loc) <= 1 or (error.get("type") == "missing" and len(loc) == 2):
            return error.get("input")
    return errors[0].get("input") if errors else None


def error_for(exc: Exception) -> types.JSONRPCError | None:
    """The error answering a line the transport could not read, or None for a blank line
    (nothing was sent, so nothing is answered)."""
    if not isinstance(exc, ValidationError):
        return types.JSONRPCError(
            jsonrpc="2.0",
            id=None,
            error=types.ErrorData(code=types.INTERNAL_ERROR, message=str(exc) or "read error"),
        )
    errors = exc.errors()
    first: Mapping[str, Any] = errors[0] if errors else {}
    raw = first.get("input")
    if first.get("type") == "json_invalid":
        if isinstance(raw, str) and not raw.strip():
            return None
        return types.JSONRPCError(
            jsonrpc="2.0",
            id=None,
            error=types.ErrorData(
                code=types.PARSE_ERROR, message=f"Parse error: {first.get('msg', 'not JSON')}"
            ),
        )
    raw = _message_of(errors)
    shown = json.dumps(raw)[:200] if raw is not None else ""
    return types.JSONRPCError(
        jsonrpc="2.0",
        id=_request_id(raw),
        error=types.ErrorData(
            code=types.INVALID_REQUEST,
            message="Invalid Request: not a JSON-RPC 2.0 request, notification or response",
            data=shown,
        ),
    )


class _Screened:
    """The transport's read stream, answering an unreadable line itself and reading on. A
    wrapper, not a second stream and task: every message would pay for that hop."""

    def __init__(self, inner: Any, write: Any) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> Any:  # the sender's context, which the SDK reads if present
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return cast(SessionMessage, item)
            error = error_for(item)
            if error is not None:
                log.info("answered an unreadable line with %s", error.error.code)
                await self._write.send(SessionMessage(error))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _Screened:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _Screened:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


async def serve_stdio(server: Any, initialization_options: Any) -> None:
    """Serve ``server`` (a lowlevel ``Server``) on this process's stdin and stdout."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(_Screened(read_stream, write_stream), write_stream, initialization_options)
