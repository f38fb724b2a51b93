"""The audit log: one row per tool call that went through the message filter — who asked
(the client's name from its initialize, and the host ainos ran the server for), which server
and tool, how it ended, how large the result was and how long it took."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ainos.ai.mcp_registry._database import McpDatabase

__all__ = ["AuditLog", "AuditRecord", "Outcome"]

# ok: a result; tool_error: a result with isError; failed: a JSON-RPC error from the
# server; rejected: refused by the filter, never forwarded; unanswered: the connection
# ended first; cancelled: the client cancelled it.
Outcome = Literal["ok", "tool_error", "failed", "rejected", "unanswered", "cancelled"]


@dataclass(frozen=True)
class AuditRecord:
    client: str
    host: str
    server: str
    tool: str
    outcome: Outcome
    result_bytes: int = 0
    duration_ms: float = 0.0
    reason: str = ""
    at: float = field(default_factory=time.time)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "client": self.client,
            "host": self.host,
            "server": self.server,
            "tool": self.tool,
            "outcome": self.outcome,
            "result_bytes": self.result_bytes,
            "duration_ms": round(self.duration_ms, 3),
            "reason": self.reason,
        }


class AuditLog:
    def __init__(self, database: McpDatabase | None = None) -> None:
        self._database = database or McpDatabase()

    def append(self, record: AuditRecord) -> None:
        with self._database.connect() as db:
            db.execute(
                "INSERT INTO tool_calls (at, client, host, server, tool, outcome, result_bytes,"
                " duration_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.at,
                    record.client,
                    record.host,
                    record.server,
                    record.tool,
                    record.outcome,
                    record.result_bytes,
                    record.duration_ms,
                    record.reason,
                ),
            )

    def records(self, server: str | None = None, *, limit: int = 100) -> list[AuditRecord]:
        """The latest ``limit`` calls (of ``server``), oldest first."""
        query = (
            "SELECT id, at, client, host, server, tool, outcome, result_bytes, duration_ms, reason"
            " FROM tool_calls"
        )
        values: list[Any] = []
        if server is not None:
            query += " WHERE server = ?"
            values.append(server)
        query += " ORDER BY id DESC LIMIT ?"
        values.append(max(0, limit))
        with self._database.connect() as db:
            rows = db.execute(query, values).fetchall()
        return [_record(row) for row in reversed(rows)]


def _record(row: Sequence[Any]) -> AuditRecord:
    return AuditRecord(
        id=row[0],
        at=row[1],
        client=row[2],
        host=row[3],
        server=row[4],
        tool=row[5],
        outcome=row[6],
        result_bytes=row[7],
        duration_ms=row[8],
        reason=row[9],
    )
