"""Consent: what a host (an MCP client: ``claude``, the agent …, ``*`` for any) lets a
server do, by capability (Windows.AI.Agents.Mcp's names). A filesystem grant carries a path;
a contained server gets bind mounts for exactly its granted paths, and the network only with
an HTTP grant."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ainos.ai.mcp_registry._database import McpDatabase
from ainos.ai.mcp_registry._entry import check_server_id
from ainos.errors import InvalidArgument

__all__ = ["ANY_HOST", "Capability", "ConsentStore", "Grant"]

ANY_HOST = "*"


class Capability(StrEnum):
    FILE_SYSTEM_READ = "FileSystemRead"
    FILE_SYSTEM_WRITE = "FileSystemWrite"
    FILE_SYSTEM_CREATE = "FileSystemCreate"
    FILE_SYSTEM_DELETE = "FileSystemDelete"
    HTTP_GET = "HttpGet"
    HTTP_POST = "HttpPost"
    HTTP_PUT = "HttpPut"
    HTTP_DELETE = "HttpDelete"

    @property
    def filesystem(self) -> bool:
        return self.value.startswith("FileSystem")

    @property
    def writes(self) -> bool:
        """A filesystem capability beyond reading (a bind mount cannot tell them apart)."""
        return self.filesystem and self is not Capability.FILE_SYSTEM_READ

    @classmethod
    def parse(cls, text: str) -> Capability:
        for capability in cls:
            if capability.value.lower() == text.strip().lower():
                return capability
        raise InvalidArgument(
            f"unknown capability {text!r}: expected one of {', '.join(c.value for c in cls)}"
        )


@dataclass(frozen=True)
class Grant:
    id: int
    host: str
    server: str
    capability: Capability
    path: Path | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "server": self.server,
            "capability": self.capability.value,
            "path": str(self.path) if self.path is not None else None,
            "created_at": self.created_at,
        }


def _check_host(host: str) -> str:
    if not host.strip() or any(c.isspace() for c in host):
        raise InvalidArgument(f"a host is a client's name without spaces, or {ANY_HOST}: {host!r}")
    return host


class ConsentStore:
    """Grants in the registry's database."""

    def __init__(self, database: McpDatabase | None = None) -> None:
        self._database = database or McpDatabase()

    def grant(
        self, server: str, capability: Capability, path: Path | None = None, *, host: str = ANY_HOST
    ) -> Grant:
        """Grant ``capability`` (on ``path``, for filesystem ones) to ``server`` when ``host``
        runs it. Granting the same again returns the grant already stored."""
        check_server_id(server)
        _check_host(host)
        if capability.filesystem and path is None:
            raise InvalidArgument(f"{capability} needs a path")
        if not capability.filesystem and path is not None:
            raise InvalidArgument(f"{capability} takes no path")
        stored = str(path.expanduser().resolve()) if path is not None else ""
        with self._database.connect() as db:
            db.execute(
                "INSERT INTO grants (host, server, capability, path, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (host, server, capability, path) DO NOTHING",
                (host, server, capability.value, stored, time.time()),
            )
            row = db.execute(
                "SELECT id, host, server, capability, path, created_at FROM grants"
                " WHERE host = ? AND server = ? AND capability = ? AND path = ?",
                (host, server, capability.value, stored),
            ).fetchone()
        return _grant(row)

    def revoke(self, grant_id: int) -> Grant | None:
        with self._database.connect() as db:
            row = db.execute(
                "SELECT id, host, server, capability, path, created_at FROM grants WHERE id = ?",
                (grant_id,),
            ).fetchone()
            db.execute("DELETE FROM grants WHERE id = ?", (grant_id,))
        return _grant(row) if row is not None else None

    def grants(self, server: str | None = None, *, host: str | None = None) -> list[Grant]:
        """Grants, of one server, and those in force for ``host`` (its own and ``*``'s)."""
        query = "SELECT id, host, server, capability, path, created_at FROM grants"
        where: list[str] = []
        values: list[str] = []
        if server is not None:
            where.append("server = ?")
            values.append(server)
        if host is not None:
            where.append("host IN (?, ?)")
            values += [host, ANY_HOST]
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._database.connect() as db:
            rows = db.execute(query + " ORDER BY id", values).fetchall()
        return [_grant(row) for row in rows]

    def revoke_server(self, server: str) -> int:
        """Forget every grant of ``server`` (it was removed); how many there were."""
        with self._database.connect() as db:
            return db.execute("DELETE FROM grants WHERE server = ?", (server,)).rowcount


def _grant(row: Sequence[Any]) -> Grant:
    return Grant(
        id=row[0],
        host=row[1],
        server=row[2],
        capability=Capability(row[3]),
        path=Path(row[4]) if row[4] else None,
        created_at=row[5],
    )
