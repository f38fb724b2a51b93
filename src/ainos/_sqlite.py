"""Opening an ainos SQLite file and growing its schema through ordered migrations.

A schema is an append-only list of migrations, each a sequence of statements; ``PRAGMA
user_version`` records how many have been applied. Each migration runs in its own
transaction (``BEGIN IMMEDIATE``), so a file is never left half-migrated and processes
opening it at the same time apply each migration once. Connections are in autocommit mode
(``isolation_level=None``): a caller that wants a transaction says ``BEGIN`` itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ainos.errors import AinosError

__all__ = ["Migrations", "PerOperation", "migrate", "open_database"]

Migrations = Sequence[Sequence[str]]


def _connect(path: Path, *, timeout: float, check_same_thread: bool) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=check_same_thread
    )


def migrate(
    connection: sqlite3.Connection, migrations: Migrations, *, pragmas: Sequence[str] = ()
) -> None:
    """Run ``PRAGMA`` each of ``pragmas`` (``"journal_mode = WAL"``), then every migration
    not applied yet."""
    for pragma in pragmas:
        connection.execute(f"PRAGMA {pragma}")
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            applied = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if applied >= len(migrations):
                connection.execute("COMMIT")
                return
            for statement in migrations[applied]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {applied + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def open_database(
    path: Path,
    migrations: Migrations,
    *,
    pragmas: Sequence[str] = (),
    timeout: float = 10.0,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """A connection to ``path`` (its parents created), ``pragmas`` set and ``migrations``
    applied. Raises ``OSError`` or ``sqlite3.Error``; nothing is left open then."""
    connection = _connect(path, timeout=timeout, check_same_thread=check_same_thread)
    try:
        migrate(connection, migrations, pragmas=pragmas)
    except BaseException:
        connection.close()
        raise
    return connection


class PerOperation:
    """Connections to a SQLite file shared by every ainos process, one per operation: each is
    closed after it, SQLite's locking orders the processes. The first one runs ``pragmas``
    and ``migrations``.

    A file that cannot be opened raises ``error("cannot open the {name} {path}: …")``, any
    later SQLite error ``error("{name} {path}: …")``.
    """

    def __init__(
        self,
        migrations: Migrations,
        *,
        name: str,
        error: type[AinosError],
        pragmas: Sequence[str] = (),
        timeout: float = 10.0,
    ) -> None:
        self._migrations = migrations
        self._name = name
        self._error = error
        self._pragmas = pragmas
        self._timeout = timeout
        self._migrated = False

    @contextmanager
    def connect(self, path: Path) -> Iterator[sqlite3.Connection]:
        try:
            connection = _connect(path, timeout=self._timeout, check_same_thread=True)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(f"cannot open the {self._name} {path}: {exc}") from exc
        try:
            if not self._migrated:
                migrate(connection, self._migrations, pragmas=self._pragmas)
                self._migrated = True
            yield connection
        except sqlite3.Error as exc:
            raise self._error(f"{self._name} {path}: {exc}") from exc
        finally:
            connection.close()
