"""Shared by the agent tests (and ``tests/e2e``): the JSON schema of the ``exec --json`` event
stream and a checker of a whole stream against it; a workspace that is a git repository; the
person who answers approval questions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ainos.app.agent._approval import ApprovalDecision, ApprovalRequest

__all__ = ["EVENTS_SCHEMA", "RecordingApprover", "validate_events"]

EVENTS_SCHEMA = Path(__file__).with_name("exec_events.schema.json")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(EVENTS_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate_events(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Each event (an ``AgentEvent``, or a dict read from a JSONL line) checked against
    ``exec_events.schema.json``, and the stream's own rules: an item completes once, after it
    started (if it did) with the same id and type, and item ids are never reused. Returns the
    events as dicts; raises ``AssertionError`` naming the first event at fault."""
    validator = _validator()
    dicts: list[dict[str, Any]] = []
    started: dict[str, str] = {}  # item id -> type
    completed: set[str] = set()
    for index, event in enumerate(events):
        data = event if isinstance(event, Mapping) else event.to_dict()
        data = json.loads(json.dumps(data))  # exactly what goes over the wire
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(
                f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}"
                for e in errors[:5]
            )
            raise AssertionError(f"event {index} does not match the schema ({details}): {data}")
        dicts.append(data)
        kind = data["type"]
        if not kind.startswith("item."):
            continue
        item_id, item_type = data["item"]["id"], data["item"]["type"]
        assert item_id not in completed, f"event {index}: item {item_id} after it completed"
        if kind == "item.started":
            assert item_id not in started, f"event {index}: item {item_id} started twice"
            started[item_id] = item_type
        else:
            expected = started.get(item_id, item_type)
            assert item_type == expected, f"event {index}: {item_id} was a {expected}"
            if kind == "item.updated":
                assert item_id in started, f"event {index}: {item_id} updated before it started"
            else:
                completed.add(item_id)
    unfinished = sorted(set(started) - completed)
    failed = any(d["type"] in ("turn.failed", "error") for d in dicts)
    assert failed or not unfinished, f"items started and never completed: {unfinished}"
    return dicts


@dataclass
class RecordingApprover:
    """Stands in for the person at the terminal: answers from a script, records what it was
    asked (a question past the script fails the test)."""

    decisions: list[ApprovalDecision] = field(default_factory=list)
    asked: list[ApprovalRequest] = field(default_factory=list)

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        self.asked.append(request)
        assert self.decisions, f"unexpected approval question: {request.describe()}"
        return self.decisions.pop(0)


@pytest.fixture
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No $TMPDIR (a writable root that would widen the sandbox) and the sandbox's own
    choice of mechanism."""
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.delenv("AINOS_SANDBOX", raising=False)


@pytest.fixture
def repo(tmp_path: Path, plain_environment: None) -> Path:
    """A small git repository to work in: a Python package with a TODO, notes, a README."""
    path = tmp_path / "repo"
    (path / "pkg").mkdir(parents=True)
    (path / "README.md").write_text("# Greeter\n\nA tiny greeting library.\n")
    (path / "notes.txt").write_text("hello from the notes\n")
    (path / "pkg" / "__init__.py").write_text('"""The greeter."""\n')
    (path / "pkg" / "greet.py").write_text(
        "def greet(name):\n"
        "    # TODO: localise the greeting\n"
        "    return 'Hello, ' + name\n"
        "\n\n"
        "def shout(name):\n"
        "    return greet(name).upper()\n"
    )
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path
