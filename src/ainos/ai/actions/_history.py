"""The action log: every invocation and every piece of feedback, in SQLite.

The schema grows through an ordered list of migrations; ``PRAGMA user_version`` records how
many have been applied, and each one runs in its own transaction, so a database is never
left half-migrated. Each operation opens its own connection: the log is shared by every
ainos process on the machine, and SQLite's locking does the rest.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ainos._sqlite import PerOperation
from ainos.ai.actions._entities import ActionEntity, ArrayActionEntity, TableActionEntity
from ainos.ai.actions._kinds import (
    ActionFeedbackKind,
    ActionInvocationResult,
    _WireEnum,
    parse_enum,
)
from ainos.ai.actions._streaming import StreamingTextActionEntity
from ainos.errors import ActionError
from ainos.paths import data_dir

__all__ = ["ActionHistory", "FeedbackRecord", "InvocationRecord", "summarize_entity"]

_SUMMARY = 80
_E = TypeVar("_E", bound=_WireEnum)

# Append only: a released migration is never edited, a new one is added after it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE invocations (
            id INTEGER PRIMARY KEY,
            action_id TEXT NOT NULL,
            started_at REAL NOT NULL,
            duration_ms REAL NOT NULL,
            invoker_pid INTEGER,
            invoker_name TEXT,
            inputs TEXT NOT NULL,
            outputs TEXT NOT NULL,
            result TEXT NOT NULL,
            extended_error TEXT
        )""",
        "CREATE INDEX invocations_by_action ON invocations (action_id, started_at)",
    ),
    (
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            action_id TEXT NOT NULL,
            invocation_id INTEGER REFERENCES invocations (id),
            kind TEXT NOT NULL,
            created_at REAL NOT NULL,
            invoker_name TEXT
        )""",
        "CREATE INDEX feedback_by_action ON feedback (action_id, created_at)",
    ),
    (
        """CREATE TABLE availability (
            action_id TEXT PRIMARY KEY,
            is_available INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
)


def summarize_entity(entity: ActionEntity) -> str:
    """A short, human-readable stand-in for an entity (the log keeps no full payloads)."""
    if isinstance(entity, TableActionEntity):
        return f"{entity.row_count}x{entity.column_count} table"
    if isinstance(entity, ArrayActionEntity):
        return f"{len(entity.elements)} x {entity.element_kind.wire_name}"
    if isinstance(entity, StreamingTextActionEntity):
        text = entity.get_text()
        return f"{len(text)} characters of streamed text"
    values = entity.property_values()
    for key in (
        "FullPath",
        "Text",
        "Uri",
        "DisplayName",
        "DateTime",
        "Subject",
        "KeyPhrase",
        "SourceUri",
    ):
        if key in values:
            value = " ".join(str(values[key]).split())
            return value if len(value) <= _SUMMARY else value[: _SUMMARY - 1] + "…"
    return entity.kind.wire_name


@dataclass(frozen=True)
class InvocationRecord:
    id: int
    action_id: str
    started_at: float
    duration_ms: float
    invoker_pid: int | None
    invoker_name: str | None
    inputs: dict[str, str]
    outputs: dict[str, str]
    result: ActionInvocationResult
    extended_error: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "actionId": self.action_id,
            "startedAt": self.started_at,
            "durationMs": self.duration_ms,
            "invokerPid": self.invoker_pid,
            "invokerName": self.invoker_name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "result": self.result.wire_name,
            "extendedError": self.extended_error,
        }


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    action_id: str
    invocation_id: int | None
    kind: ActionFeedbackKind
    created_at: float
    invoker_name: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "actionId": self.action_id,
            "invocationId": self.invocation_id,
            "kind": self.kind.wire_name,
            "createdAt": self.created_at,
            "invokerName": self.invoker_name,
        }


def _member(enum: type[_E], name: str) -> _E:
    member = parse_enum(enum, name)
    if member is None:
        raise ActionError(f"the action log holds an unknown {enum.__name__} {name!r}")
    return member


def _summaries(entities: Mapping[str, ActionEntity]) -> str:
    return json.dumps(
        {name: f"{e.kind.wire_name}: {summarize_entity(e)}" for name, e in entities.items()},
        ensure_ascii=False,
    )


class ActionHistory:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._db = PerOperation(MIGRATIONS, name="action log", error=ActionError)

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else data_dir() / "actions.db"

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.connect(self.path)

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def record_invocation(
        self,
        *,
        action_id: str,
        started_at: float,
        duration_ms: float,
        invoker_pid: int | None,
        invoker_name: str | None,
        inputs: Mapping[str, ActionEntity],
        outputs: Mapping[str, ActionEntity],
        result: ActionInvocationResult,
        extended_error: str | None,
    ) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO invocations (action_id, started_at, duration_ms, invoker_pid,"
                " invoker_name, inputs, outputs, result, extended_error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action_id,
                    started_at,
                    duration_ms,
                    invoker_pid,
                    invoker_name,
                    _summaries(inputs),
                    _summaries(outputs),
                    result.wire_name,
                    extended_error,
                ),
            )
            return int(cursor.lastrowid or 0)

    def record_feedback(
        self,
        action_id: str,
        kind: ActionFeedbackKind,
        *,
        invocation_id: int | None = None,
        invoker_name: str | None = None,
    ) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (action_id, invocation_id, kind, created_at, invoker_name)"
                " VALUES (?, ?, ?, ?, ?)",
                (action_id, invocation_id, kind.wire_name, time.time(), invoker_name),
            )
            return int(cursor.lastrowid or 0)

    def _recent(self, select: str, action_id: str | None, limit: int) -> list[Any]:
        """Rows of ``select``, newest first, of one action if given."""
        where, args = (" WHERE action_id = ?", (action_id,)) if action_id is not None else ("", ())
        with self._connect() as db:
            rows: list[Any] = db.execute(
                f"{select}{where} ORDER BY id DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return rows

    def invocations(self, action_id: str | None = None, limit: int = 50) -> list[InvocationRecord]:
        """Most recent first."""
        rows = self._recent("SELECT * FROM invocations", action_id, limit)
        return [
            InvocationRecord(
                id=row[0],
                action_id=row[1],
                started_at=row[2],
                duration_ms=row[3],
                invoker_pid=row[4],
                invoker_name=row[5],
                inputs=json.loads(row[6]),
                outputs=json.loads(row[7]),
                result=_member(ActionInvocationResult, row[8]),
                extended_error=row[9],
            )
            for row in rows
        ]

    def feedback(self, action_id: str | None = None, limit: int = 50) -> list[FeedbackRecord]:
        """Most recent first."""
        rows = self._recent(
            "SELECT id, action_id, invocation_id, kind, created_at, invoker_name FROM feedback",
            action_id,
            limit,
        )
        return [
            FeedbackRecord(
                id=row[0],
                action_id=row[1],
                invocation_id=row[2],
                kind=_member(ActionFeedbackKind, row[3]),
                created_at=row[4],
                invoker_name=row[5],
            )
            for row in rows
        ]

    def availability(self) -> dict[str, bool]:
        with self._connect() as db:
            rows = db.execute("SELECT action_id, is_available FROM availability").fetchall()
        return {row[0]: bool(row[1]) for row in rows}

    def set_availability(self, action_id: str, is_available: bool) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO availability (action_id, is_available, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (action_id) DO UPDATE SET"
                " is_available = excluded.is_available, updated_at = excluded.updated_at",
                (action_id, int(is_available), time.time()),
            )
