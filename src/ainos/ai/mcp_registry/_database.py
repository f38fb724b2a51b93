"""The registry's SQLite file, ``data_dir()/mcp.sqlite3``: consents and the audit log.

Shared by every ainos process (the agent, ``ainos mcp run`` under several clients, the CLI):
one connection per operation, WAL so readers never wait for the audit's writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ainos._sqlite import PerOperation
from ainos.errors import McpRegistryError
from ainos.paths import data_dir

__all__ = ["MIGRATIONS", "McpDatabase"]

# Append only: a released migration is never edited, a new one is added after it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE grants (
            id INTEGER PRIMARY KEY,
            host TEXT NOT NULL,
            server TEXT NOT NULL,
            capability TEXT NOT NULL,
            path TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        )""",
        # path '' for capabilities without one (NULL would make each row distinct)
        "CREATE UNIQUE INDEX grants_unique ON grants (host, server, capability, path)",
        """CREATE TABLE tool_calls (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            client TEXT NOT NULL,
            host TEXT NOT NULL,
            server TEXT NOT NULL,
            tool TEXT NOT NULL,
            outcome TEXT NOT NULL,
            result_bytes INTEGER NOT NULL,
            duration_ms REAL NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX tool_calls_server ON tool_calls (server, at)",
    ),
)


class McpDatabase:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / "mcp.sqlite3"
        self._db = PerOperation(
            MIGRATIONS, name="MCP registry database", error=McpRegistryError,
            pragmas=("journal_mode = WAL",),
        )  # fmt: skip

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with self._db.connect(self.path) as connection:
            yield connection
