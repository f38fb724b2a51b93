"""The message filter between a client and a server: every JSON-RPC message, in either
direction, is allowed (perhaps rewritten) or rejected with a reason.

It enforces the server's tool filters — ``tools/list`` results lose the tools clients may
not see, and a ``tools/call`` of such a tool is answered with a JSON-RPC error instead of
reaching the server — and it reports every tool call to the audit. It is plain state, no
I/O: the relay (``_relay``) moves the messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mcp_types import (
    CLIENT_INFO_META_KEY,
    INVALID_PARAMS,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
)

from ainos.ai.mcp_registry._audit import AuditRecord, Outcome
from ainos.ai.mcp_registry._entry import ServerEntry

__all__ = ["Direction", "MessageFilter", "Verdict"]

AuditSink = Callable[[AuditRecord], None]


class Direction(StrEnum):
    TO_SERVER = "client->server"
    TO_CLIENT = "server->client"


@dataclass(frozen=True)
class Verdict:
    """What happens to one message: forwarded (``message``, perhaps rewritten), or
    rejected — then ``message`` is the answer that goes back to its sender instead."""

    direction: Direction
    allowed: bool
    message: JSONRPCMessage
    reason: str = ""


@dataclass(frozen=True)
class _Call:
    tool: str
    started: float


class MessageFilter:
    """One connection's filter. ``host`` is who ainos runs the server for (``*`` when it was
    not told); the client's own name is read from its ``initialize`` (or, in the 2026
    protocol, each request's ``_meta``)."""

    def __init__(
        self,
        entry: ServerEntry,
        *,
        host: str = "*",
        audit: AuditSink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.entry = entry
        self.host = host
        self.client = "unknown"
        self._audit = audit
        self._clock = clock
        self._calls: dict[RequestId, _Call] = {}
        self._listings: set[RequestId] = set()

    # -- client → server -----------------------------------------------------------

    def from_client(self, message: JSONRPCMessage) -> Verdict:
        if isinstance(message, JSONRPCNotification):
            if message.method == "notifications/cancelled":
                self._cancelled((message.params or {}).get("requestId"))
            return self._forward(Direction.TO_SERVER, message)
        if not isinstance(message, JSONRPCRequest):
            return self._forward(Direction.TO_SERVER, message)  # a reply to the server
        params = message.params or {}
        self._learn_client(message.method, params)
        if message.method == "tools/list":
            self._listings.add(message.id)
        elif message.method == "tools/call":
            tool = str(params.get("name", ""))
            if not self.entry.tool_allowed(tool):
                reason = f"tool {tool!r} is disabled (ainos mcp enable-tool {self.entry.id} {tool})"
                self._record(tool, "rejected", reason=reason)
                error = ErrorData(code=INVALID_PARAMS, message=reason)
                reply = JSONRPCError(jsonrpc="2.0", id=message.id, error=error)
                return Verdict(Direction.TO_SERVER, False, reply, reason)
            self._calls[message.id] = _Call(tool, self._clock())
        return self._forward(Direction.TO_SERVER, message)

    def _learn_client(self, method: str, params: Mapping[str, Any]) -> None:
        info: object = None
        if method == "initialize":
            info = params.get("clientInfo")
        else:
            meta = params.get("_meta")
            info = meta.get(CLIENT_INFO_META_KEY) if isinstance(meta, Mapping) else None
        if isinstance(info, Mapping) and isinstance(info.get("name"), str) and info["name"]:
            self.client = info["name"]

    # -- server → client -----------------------------------------------------------

    def from_server(self, message: JSONRPCMessage) -> Verdict:
        if isinstance(message, JSONRPCResponse):
            if message.id in self._listings:
                self._listings.discard(message.id)
                message = self._filtered_listing(message)
            call = self._calls.pop(message.id, None)
            if call is not None:
                failed = bool(message.result.get("isError"))
                self._record(
                    call.tool,
                    "tool_error" if failed else "ok",
                    size=len(json.dumps(message.result, separators=(",", ":")).encode()),
                    started=call.started,
                )
        elif isinstance(message, JSONRPCError) and message.id is not None:
            self._listings.discard(message.id)
            call = self._calls.pop(message.id, None)
            if call is not None:
                self._record(
                    call.tool, "failed", reason=message.error.message, started=call.started
                )
        return self._forward(Direction.TO_CLIENT, message)

    def _filtered_listing(self, message: JSONRPCResponse) -> JSONRPCResponse:
        tools = message.result.get("tools")
        if not isinstance(tools, list):
            return message
        kept = [
            t
            for t in tools
            if isinstance(t, Mapping) and self.entry.tool_allowed(str(t.get("name")))
        ]
        if len(kept) == len(tools):
            return message
        return message.model_copy(update={"result": {**message.result, "tools": kept}})

    # -- the end -------------------------------------------------------------------

    def close(self) -> None:
        """The connection ended: calls still waiting are recorded as unanswered."""
        for call in self._calls.values():
            self._record(call.tool, "unanswered", started=call.started)
        self._calls.clear()
        self._listings.clear()

    def _cancelled(self, request_id: object) -> None:
        if isinstance(request_id, (int, str)):
            call = self._calls.pop(request_id, None)
            if call is not None:
                self._record(call.tool, "cancelled", started=call.started)

    def _forward(self, direction: Direction, message: JSONRPCMessage) -> Verdict:
        return Verdict(direction, True, message)

    def _record(
        self,
        tool: str,
        outcome: Outcome,
        *,
        size: int = 0,
        started: float | None = None,
        reason: str = "",
    ) -> None:
        if self._audit is None:
            return
        elapsed = (self._clock() - started) * 1000.0 if started is not None else 0.0
        self._audit(
            AuditRecord(
                client=self.client,
                host=self.host,
                server=self.entry.id,
                tool=tool,
                outcome=outcome,
                result_bytes=size,
                duration_ms=elapsed,
                reason=reason,
            )
        )
