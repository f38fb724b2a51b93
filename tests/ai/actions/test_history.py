"""The action log: migrations in order, records queryable, one database for every process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ainos.ai.actions import (
    ActionFeedbackKind,
    ActionHistory,
    ActionInvocationResult,
    TextActionEntity,
)
from ainos.ai.actions._history import MIGRATIONS
from ainos.paths import data_dir


def test_the_log_lives_under_the_data_dir_and_is_migrated_once() -> None:
    log = ActionHistory()
    assert log.path == data_dir() / "actions.db"
    assert log.schema_version() == len(MIGRATIONS)
    assert ActionHistory().schema_version() == len(MIGRATIONS)  # reopening applies nothing twice
    with sqlite3.connect(log.path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= {"invocations", "feedback", "availability"}


def test_an_older_database_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO invocations (action_id, started_at, duration_ms, inputs, outputs, result)"
            " VALUES ('Old.One', 1.0, 2.0, '{}', '{}', 'Success')"
        )
    log = ActionHistory(path)
    assert log.schema_version() == len(MIGRATIONS)
    assert [r.action_id for r in log.invocations()] == ["Old.One"]
    log.record_feedback("Old.One", ActionFeedbackKind.NEGATIVE, invocation_id=1)
    assert log.feedback("Old.One")[0].kind is ActionFeedbackKind.NEGATIVE


def test_invocations_and_feedback_are_queryable(tmp_path: Path) -> None:
    log = ActionHistory(tmp_path / "log.db")
    ids = [
        log.record_invocation(
            action_id=action_id,
            started_at=float(n),
            duration_ms=1.5,
            invoker_pid=42,
            invoker_name="client",
            inputs={"Text": TextActionEntity("x" * 200)},
            outputs={},
            result=result,
            extended_error=None if result is ActionInvocationResult.SUCCESS else "why",
        )
        for n, (action_id, result) in enumerate(
            [
                ("A.One", ActionInvocationResult.SUCCESS),
                ("A.Two", ActionInvocationResult.UNSUPPORTED),
                ("A.One", ActionInvocationResult.UNAVAILABLE),
            ]
        )
    ]
    assert [r.id for r in log.invocations()] == ids[::-1]
    assert [r.result for r in log.invocations("A.One")] == [
        ActionInvocationResult.UNAVAILABLE,
        ActionInvocationResult.SUCCESS,
    ]
    assert len(log.invocations(limit=1)) == 1
    summary = log.invocations("A.Two")[0].inputs["Text"]
    assert summary.startswith("Text: xxx")
    assert summary.endswith("…")
    assert len(summary) < 100
    log.record_feedback(
        "A.One", ActionFeedbackKind.POSITIVE, invocation_id=ids[0], invoker_name="me"
    )
    (feedback,) = log.feedback("A.One")
    assert feedback.to_dict()["kind"] == "Positive"
    assert feedback.invocation_id == ids[0]
    assert log.feedback("A.Two") == []
