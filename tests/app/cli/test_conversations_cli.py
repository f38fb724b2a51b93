"""``ainos conversations``: list, show and remove stored threads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from ainos.app.agent._store import ConversationStore
from ainos.app.cli import _conversations
from ainos.errors import ConversationNotFound, InvalidArgument

EVENTS: list[dict[str, object]] = [
    {"type": "thread.started", "thread_id": "t"},
    {"type": "user_message", "text": "Analyze this codebase"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "look"}},
    {
        "type": "item.started",
        "item": {"id": "item_1", "type": "command_execution", "command": "ls", "status": "x"},
    },
    {
        "type": "item.completed",
        "item": {
            "id": "item_1",
            "type": "command_execution",
            "command": "ls -la",
            "aggregated_output": "README.md\nsrc\n",
            "exit_code": 0,
            "status": "completed",
        },
    },
    {
        "type": "item.completed",
        "item": {
            "id": "item_2",
            "type": "file_change",
            "changes": [{"path": "src/app.py", "kind": "update"}],
            "status": "completed",
        },
    },
    {
        "type": "item.completed",
        "item": {
            "id": "item_3",
            "type": "mcp_tool_call",
            "server": "ainos",
            "tool": "read_file",
            "arguments": {"path": "README.md"},
            "error": {"message": "too large"},
            "status": "failed",
        },
    },
    {
        "type": "item.completed",
        "item": {
            "id": "item_4",
            "type": "todo_list",
            "items": [{"text": "read", "completed": True}, {"text": "fix", "completed": False}],
        },
    },
    {"type": "item.completed", "item": {"id": "item_5", "type": "error", "message": "oops"}},
    {"type": "item.completed", "item": {"id": "item_6", "type": "agent_message", "text": "Done."}},
    {"type": "turn.completed", "usage": {"input_tokens": 120, "output_tokens": 7}},
    {"type": "user_message", "text": "and the tests?"},
    {"type": "turn.started"},
    {
        "type": "item.started",
        "item": {"id": "item_0", "type": "command_execution", "command": "pytest -x"},
    },
    {"type": "turn.failed", "error": {"message": "the model went away"}},
]


def cli(*args: str) -> Result:
    app = typer.Typer()
    _conversations.register(app)

    @app.callback()
    def _root() -> None:
        """A test root with one group."""

    return CliRunner().invoke(app, ["conversations", *args])


def seeded(tmp_path: Path) -> str:
    with ConversationStore() as store:
        thread = store.create_thread(
            cwd=tmp_path,
            model="smollm2",
            provider="local",
            settings={"approval_policy": "never", "sandbox_mode": "read-only"},
        )
        turn = store.begin_turn(thread.id, "Analyze this codebase")
        for event in EVENTS[:12]:
            store.append_event(thread.id, turn, event)
        store.end_turn(thread.id)
        turn = store.begin_turn(thread.id, "and the tests?")
        for event in EVENTS[12:]:
            store.append_event(thread.id, turn, event)
        store.end_turn(thread.id)
    return thread.id


def test_list(tmp_path: Path) -> None:
    result = cli("list")
    assert result.exit_code == 0
    assert "no conversations yet" in result.stderr
    thread_id = seeded(tmp_path)
    result = cli("list")
    assert result.exit_code == 0, result.output
    assert thread_id[:8] in result.stdout
    assert "smollm2" in result.stdout
    result = cli("list", "--json")
    (listed,) = json.loads(result.stdout)
    assert listed["id"] == thread_id
    assert listed["turns"] == 2
    assert listed["title"] == "Analyze this codebase"
    assert listed["interrupted"] is False
    assert listed["cwd"] == str(tmp_path.resolve())
    assert isinstance(cli("list", "--limit", "0").exception, InvalidArgument)


def test_show_renders_every_kind_of_event(tmp_path: Path) -> None:
    thread_id = seeded(tmp_path)
    result = cli("show", thread_id[:6])
    assert result.exit_code == 0, result.output
    out = result.stdout
    expected = [
        thread_id,
        "smollm2 (local)",
        "never",
        "Analyze this codebase",
        "thinking: look",
        "$ ls -la → exit 0",
        "README.md",
        "update src/app.py",
        'ainos.read_file({"path": "README.md"}) (failed)',
        "too large",
        "[x] read",
        "[ ] fix",
        "error: oops",
        "Done.",
        "tokens: 120 in, 7 out",
        "and the tests?",
        "$ pytest -x (did not finish)",
        "turn failed: the model went away",
    ]
    position = 0
    for text in expected:
        found = out.find(text, position)
        assert found >= 0, f"{text!r} missing (or out of order) in:\n{out}"
        position = found
    assert "$ ls (did not finish)" not in out  # item_1 completed: its start is not shown


def test_show_json_prints_the_events_as_jsonl(tmp_path: Path) -> None:
    thread_id = seeded(tmp_path)
    result = cli("show", thread_id, "--json")
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == EVENTS


def test_unknown_ids(tmp_path: Path) -> None:
    seeded(tmp_path)
    result = cli("show", "0000000-nothing")
    assert isinstance(result.exception, ConversationNotFound)
    assert "0000000-nothing" in str(result.exception)
    assert isinstance(cli("rm", "abc").exception, ConversationNotFound)


def test_rm(tmp_path: Path) -> None:
    thread_id = seeded(tmp_path)
    result = cli("rm", thread_id[:8])
    assert result.exit_code == 0
    assert f"removed conversation {thread_id}" in result.stderr
    with ConversationStore() as store:
        assert store.list_threads() == []
        assert store.events(thread_id) == []


def test_rm_refuses_a_running_thread_unless_forced(tmp_path: Path) -> None:
    with ConversationStore() as store:
        thread = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
        store.begin_turn(thread.id, "busy")  # this (live) process runs it
    result = cli("rm", thread.id)
    assert isinstance(result.exception, InvalidArgument)
    assert "stop it first" in str(result.exception)
    assert cli("rm", "--force", thread.id).exit_code == 0


def test_an_interrupted_thread_is_marked(tmp_path: Path) -> None:
    script = (
        "from pathlib import Path;"
        "from ainos.app.agent._store import ConversationStore as S;"
        "s = S(); t = s.create_thread(cwd=Path.cwd(), model='m', provider='local', settings={});"
        "n = s.begin_turn(t.id, 'never finished');"
        "s.append_event(t.id, n, {'type': 'user_message', 'text': 'never finished'});"
        "print(t.id)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    thread_id = done.stdout.strip()
    (listed,) = json.loads(cli("list", "--json").stdout)
    assert listed["interrupted"] is True
    assert "interrupted" in cli("list").stdout
    shown = cli("show", thread_id)
    assert "interrupted: the last turn did not finish" in shown.stdout
    assert cli("rm", thread_id).exit_code == 0  # nobody runs it any more


@pytest.mark.parametrize("command", ["list", "show", "rm"])
def test_help(command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout
