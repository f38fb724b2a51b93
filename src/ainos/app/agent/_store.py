"""Conversations of the coding agent, in SQLite: threads, their events and model messages.

Every event and every model-facing message is committed the moment it happens (WAL,
``synchronous=NORMAL``: a committed write survives the process being killed), so a turn cut
short by kill -9 or Ctrl-C leaves a conversation that opens, reads and resumes. A thread
whose state is still ``running`` while the process that owned it is gone was interrupted.

The schema grows through an ordered list of migrations keyed by ``PRAGMA user_version``;
each runs in its own transaction, as does every write, so no half-written row is ever left.
One connection per store, guarded by a lock, serves every thread of the process; SQLite's
locking (``BEGIN IMMEDIATE`` with a busy timeout) orders writers of different processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ainos._sqlite import open_database
from ainos.errors import AgentError, ConversationNotFound, InvalidArgument
from ainos.paths import data_dir

__all__ = [
    "INTERRUPTED_TOOL_RESULT",
    "ConversationStore",
    "StoredEvent",
    "ThreadInfo",
    "ThreadState",
    "repair_messages",
]

ThreadState = Literal["idle", "running"]

INTERRUPTED_TOOL_RESULT = "interrupted: the call did not finish"
MIN_PREFIX = 4
_TITLE = 80
_BUSY_MS = 10_000
_START_TOLERANCE = 1.0  # seconds between a recorded and a live process start time

# Append only: a released migration is never edited, a new one is added after it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE threads (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            cwd TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            turns INTEGER NOT NULL DEFAULT 0,
            settings TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'idle',
            owner_pid INTEGER,
            owner_started REAL
        )""",
        "CREATE INDEX threads_by_updated ON threads (updated_at)",
        "CREATE INDEX threads_by_cwd ON threads (cwd, updated_at)",
        """CREATE TABLE events (
            thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            turn INTEGER NOT NULL,
            at REAL NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (thread_id, seq)
        )""",
        """CREATE TABLE messages (
            thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            turn INTEGER NOT NULL,
            at REAL NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (thread_id, seq)
        )""",
    ),
)

_THREAD_COLUMNS = (
    "id, created_at, updated_at, cwd, model, provider, title, turns, settings, state,"
    " owner_pid, owner_started"
)


@dataclass(frozen=True)
class ThreadInfo:
    """One conversation. ``interrupted``: left ``running`` by a process that is gone."""

    id: str
    created_at: float
    updated_at: float
    cwd: Path
    model: str
    provider: str
    title: str
    turns: int
    settings: dict[str, Any]
    state: ThreadState
    owner_pid: int | None = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "cwd": str(self.cwd),
            "model": self.model,
            "provider": self.provider,
            "title": self.title,
            "turns": self.turns,
            "settings": self.settings,
            "state": self.state,
            "owner_pid": self.owner_pid,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    turn: int
    at: float
    data: dict[str, Any]


def _title(prompt: str) -> str:
    """The first non-blank line of a prompt, at most 80 characters."""
    line = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= _TITLE else line[: _TITLE - 1] + "…"


def _process_started(pid: int) -> float | None:
    """When a live process started; ``None`` when it is gone (or a zombie)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def _owner_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process that began a turn still runs (and is that process, not a later
    one given the same pid)."""
    if pid is None:
        return False
    import psutil

    try:
        live = _process_started(pid)
    except psutil.Error:
        return True  # it exists but is not ours to inspect
    if live is None:
        return False
    return started is None or abs(live - started) <= _START_TOLERANCE


def _dumps(value: Mapping[str, object], what: str) -> str:
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"the {what} cannot be stored as JSON: {exc}") from None


def repair_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A history any chat API accepts: each assistant tool call answered by a ``tool``
    message (a synthesised "interrupted" result for the calls a killed process never
    finished), and ``tool`` messages that answer no pending call left out."""
    repaired: list[dict[str, Any]] = []
    pending: list[str] = []  # call ids of the last assistant message still unanswered

    def settle() -> None:
        repaired.extend(
            {"role": "tool", "tool_call_id": call_id, "content": INTERRUPTED_TOOL_RESULT}
            for call_id in pending
        )
        pending.clear()

    for message in messages:
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in pending:
                pending.remove(call_id)
                repaired.append(message)
            continue  # an answer to no pending call: chat APIs refuse it
        settle()
        repaired.append(message)
        if role == "assistant":
            pending.extend(
                call["id"]
                for call in message.get("tool_calls") or ()
                if isinstance(call, Mapping) and isinstance(call.get("id"), str)
            )
    settle()
    return repaired


class ConversationStore:
    """Threads, events and messages in ``data_dir()/conversations.sqlite3``."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path if path is not None else data_dir() / "conversations.sqlite3"
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._started: float | None = None

    @property
    def path(self) -> Path:
        return self._path

    # -- connection -----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return open_database(
                self._path,
                MIGRATIONS,
                pragmas=(
                    f"busy_timeout = {_BUSY_MS}",
                    "journal_mode = WAL",
                    "synchronous = NORMAL",
                    "foreign_keys = ON",
                ),
                timeout=_BUSY_MS / 1000,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise AgentError(f"cannot open the conversation store {self._path}: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._connection is None:
                self._connection = self._open()
            try:
                yield self._connection
            except sqlite3.Error as exc:
                raise AgentError(f"conversation store {self._path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed whole, or rolled back whole."""
        with self._read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        with self._read() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- threads --------------------------------------------------------------------------

    def _owner(self) -> tuple[int, float | None]:
        if self._started is None:
            import psutil

            try:
                self._started = _process_started(self._pid)
            except psutil.Error:
                self._started = None
        return self._pid, self._started

    @staticmethod
    def _thread(row: tuple[Any, ...]) -> ThreadInfo:
        state: ThreadState = "running" if row[9] == "running" else "idle"
        owner_pid = row[10]
        return ThreadInfo(
            id=row[0],
            created_at=row[1],
            updated_at=row[2],
            cwd=Path(row[3]),
            model=row[4],
            provider=row[5],
            title=row[6],
            turns=row[7],
            settings=json.loads(row[8]),
            state=state,
            owner_pid=owner_pid,
            interrupted=state == "running" and not _owner_alive(owner_pid, row[11]),
        )

    def create_thread(
        self, *, cwd: Path, model: str, provider: str, settings: Mapping[str, object]
    ) -> ThreadInfo:
        thread_id = str(uuid.uuid4())
        now = time.time()
        encoded = _dumps(settings, "settings")
        with self._write() as db:
            db.execute(
                "INSERT INTO threads (id, created_at, updated_at, cwd, model, provider, settings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (thread_id, now, now, str(Path(cwd).resolve()), model, provider, encoded),
            )
        return ThreadInfo(
            id=thread_id,
            created_at=now,
            updated_at=now,
            cwd=Path(cwd).resolve(),
            model=model,
            provider=provider,
            title="",
            turns=0,
            settings=json.loads(encoded),
            state="idle",
        )

    @staticmethod
    def _touch(db: sqlite3.Connection, thread_id: str, now: float) -> None:
        cursor = db.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now, thread_id))
        if cursor.rowcount == 0:
            raise ConversationNotFound(f"no conversation {thread_id}")

    def begin_turn(self, thread_id: str, prompt: str) -> int:
        """Start the thread's next turn (numbered from 1), owned by this process."""
        pid, started = self._owner()
        now = time.time()
        with self._write() as db:
            self._touch(db, thread_id, now)
            db.execute(
                "UPDATE threads SET turns = turns + 1, state = 'running', owner_pid = ?,"
                " owner_started = ?, title = CASE WHEN title = '' THEN ? ELSE title END"
                " WHERE id = ?",
                (pid, started, _title(prompt), thread_id),
            )
            turn = db.execute("SELECT turns FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return int(turn[0])

    def end_turn(self, thread_id: str) -> None:
        with self._write() as db:
            self._touch(db, thread_id, time.time())
            db.execute(
                "UPDATE threads SET state = 'idle', owner_pid = NULL, owner_started = NULL"
                " WHERE id = ?",
                (thread_id,),
            )

    def get(self, id_or_prefix: str) -> ThreadInfo:
        """A thread by its id or a unique prefix of at least 4 characters."""
        key = id_or_prefix.strip()
        with self._read() as db:
            rows = db.execute(f"SELECT {_THREAD_COLUMNS} FROM threads WHERE id = ?", (key,))
            found = rows.fetchall()
            if not found and len(key) >= MIN_PREFIX:
                found = db.execute(
                    f"SELECT {_THREAD_COLUMNS} FROM threads WHERE substr(id, 1, ?) = ?"
                    " ORDER BY updated_at DESC LIMIT 6",
                    (len(key), key),
                ).fetchall()
        if len(found) == 1:
            return self._thread(found[0])
        if found:
            ids = ", ".join(row[0] for row in found[:5]) + (", …" if len(found) > 5 else "")
            raise ConversationNotFound(
                f"conversation id {key!r} is ambiguous: it starts {ids}; give more characters"
            )
        if len(key) < MIN_PREFIX:
            raise ConversationNotFound(
                f"no conversation {key!r} (a prefix needs at least {MIN_PREFIX} characters)"
            )
        raise ConversationNotFound(f"no conversation {key!r}")

    def last(self, cwd: Path | None = None) -> ThreadInfo | None:
        """The most recently updated thread (of that working directory, if given)."""
        where, args = ("WHERE cwd = ?", (str(Path(cwd).resolve()),)) if cwd else ("", ())
        with self._read() as db:
            row = db.execute(
                f"SELECT {_THREAD_COLUMNS} FROM threads {where}"
                " ORDER BY updated_at DESC, rowid DESC LIMIT 1",
                args,
            ).fetchone()
        return self._thread(row) if row is not None else None

    def list_threads(self, limit: int = 50) -> list[ThreadInfo]:
        """Newest (most recently updated) first."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_THREAD_COLUMNS} FROM threads"
                " ORDER BY updated_at DESC, rowid DESC LIMIT ?",
                (max(0, limit),),
            ).fetchall()
        return [self._thread(row) for row in rows]

    def delete(self, thread_id: str) -> bool:
        """Remove a thread with its events and messages; ``False`` if there was none."""
        with self._write() as db:
            db.execute("DELETE FROM events WHERE thread_id = ?", (thread_id,))
            db.execute("DELETE FROM messages WHERE thread_id = ?", (thread_id,))
            cursor = db.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
        return cursor.rowcount > 0

    # -- events and messages --------------------------------------------------------------

    def _append(self, table: str, thread_id: str, turn: int, data: str) -> None:
        now = time.time()
        with self._write() as db:
            self._touch(db, thread_id, now)
            db.execute(
                f"INSERT INTO {table} (thread_id, seq, turn, at, data)"
                f" SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM {table}"
                " WHERE thread_id = ?",
                (thread_id, turn, now, data, thread_id),
            )

    def append_event(self, thread_id: str, turn: int, event: Mapping[str, object]) -> None:
        """Record one event (a Codex ``exec --json`` object), committed at once."""
        self._append("events", thread_id, turn, _dumps(event, "event"))

    def events(self, thread_id: str, *, after_seq: int = 0) -> list[StoredEvent]:
        with self._read() as db:
            rows = db.execute(
                "SELECT seq, turn, at, data FROM events WHERE thread_id = ? AND seq > ?"
                " ORDER BY seq",
                (thread_id, after_seq),
            ).fetchall()
        return [StoredEvent(seq=r[0], turn=r[1], at=r[2], data=json.loads(r[3])) for r in rows]

    def append_message(self, thread_id: str, turn: int, message: Mapping[str, object]) -> None:
        """Record one model-facing chat message, committed at once."""
        self._append("messages", thread_id, turn, _dumps(message, "message"))

    def messages(self, thread_id: str) -> list[dict[str, Any]]:
        """The model-facing history in order, repaired for resume (see
        :func:`repair_messages`)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT data FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
            ).fetchall()
        return repair_messages([json.loads(row[0]) for row in rows])
