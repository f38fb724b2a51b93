"""The conversation store: real SQLite files, real threads, a real process killed mid-turn."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.app.agent._store import (
    INTERRUPTED_TOOL_RESULT,
    MIGRATIONS,
    ConversationStore,
    repair_messages,
)
from ainos.errors import ConversationNotFound, InvalidArgument
from ainos.paths import data_dir


def _call(call_id: str, name: str = "shell") -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(tmp_path / "state" / "conversations.sqlite3") as opened:
        yield opened


def test_created_on_first_use_under_data_dir_in_wal_mode() -> None:
    path = data_dir() / "conversations.sqlite3"
    with ConversationStore() as store:
        assert not path.exists()
        assert store.path == path
        assert store.list_threads() == []
        assert path.exists()
        assert store.schema_version() == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_thread_and_its_turns(store: ConversationStore, tmp_path: Path) -> None:
    thread = store.create_thread(
        cwd=tmp_path, model="smollm2", provider="local", settings={"sandbox_mode": "read-only"}
    )
    assert len(thread.id) == 36
    assert thread.id.count("-") == 4
    assert (thread.title, thread.turns, thread.state, thread.interrupted) == ("", 0, "idle", False)
    assert thread.cwd == tmp_path.resolve()
    assert thread.settings == {"sandbox_mode": "read-only"}

    long_line = "fix " + "x" * 200
    assert store.begin_turn(thread.id, f"\n  {long_line}\nsecond line") == 1
    running = store.get(thread.id)
    assert running.state == "running"
    assert running.owner_pid == os.getpid()
    assert not running.interrupted  # its owner (this process) is alive
    assert len(running.title) == 80
    assert running.title.startswith("fix xxx")
    assert running.title.endswith("…")
    store.end_turn(thread.id)

    assert store.begin_turn(thread.id, "another prompt") == 2
    store.end_turn(thread.id)
    done = store.get(thread.id)
    assert (done.turns, done.state, done.owner_pid) == (2, "idle", None)
    assert done.title == running.title  # set once, by the first prompt
    assert done.updated_at >= done.created_at


def test_events_are_numbered_per_thread(store: ConversationStore, tmp_path: Path) -> None:
    one = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
    two = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
    store.append_event(one.id, 1, {"type": "turn.started"})
    store.append_event(two.id, 1, {"type": "turn.started"})
    store.append_event(one.id, 1, {"type": "turn.completed", "usage": {"input_tokens": 3}})
    events = store.events(one.id)
    assert [(e.seq, e.turn, e.data["type"]) for e in events] == [
        (1, 1, "turn.started"),
        (2, 1, "turn.completed"),
    ]
    assert events[1].data["usage"] == {"input_tokens": 3}
    assert events[0].at <= events[1].at
    assert [e.seq for e in store.events(one.id, after_seq=1)] == [2]
    assert [e.seq for e in store.events(two.id)] == [1]


def test_concurrent_appends_keep_sequence_order(store: ConversationStore, tmp_path: Path) -> None:
    thread = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
    other = ConversationStore(store.path)  # a second connection to the same file, too
    writers, each = 8, 40

    def write(writer: int) -> None:
        target = other if writer % 2 else store
        for n in range(each):
            target.append_event(thread.id, 1, {"type": "x", "writer": writer, "n": n})
            target.append_message(thread.id, 1, {"role": "user", "content": f"{writer}:{n}"})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()

    events = store.events(thread.id)
    assert [e.seq for e in events] == list(range(1, writers * each + 1))
    for writer in range(writers):
        mine = [e.data["n"] for e in events if e.data["writer"] == writer]
        assert mine == list(range(each))  # each writer's events in the order it wrote them
    messages = store.messages(thread.id)
    assert len(messages) == writers * each
    for writer in range(writers):
        mine = [m["content"] for m in messages if str(m["content"]).startswith(f"{writer}:")]
        assert mine == [f"{writer}:{n}" for n in range(each)]


def test_messages_are_repaired_for_resume() -> None:
    history: list[dict[str, object]] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": "", "tool_calls": [_call("a"), _call("b")]},
        {"role": "tool", "tool_call_id": "a", "content": "done"},
        {"role": "user", "content": "again"},
        {"role": "tool", "tool_call_id": "zzz", "content": "an answer to nothing"},
        {"role": "assistant", "content": "", "tool_calls": [_call("c")]},
    ]
    assert repair_messages(history) == [
        history[0],
        history[1],
        history[2],
        history[3],
        {"role": "tool", "tool_call_id": "b", "content": INTERRUPTED_TOOL_RESULT},
        history[4],
        history[6],
        {"role": "tool", "tool_call_id": "c", "content": INTERRUPTED_TOOL_RESULT},
    ]
    complete = [*history[:4], {"role": "tool", "tool_call_id": "b", "content": "ok"}]
    assert repair_messages(complete) == complete


def test_messages_round_trip(store: ConversationStore, tmp_path: Path) -> None:
    thread = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
    sent = [
        {"role": "user", "content": "héllo"},
        {"role": "assistant", "content": None, "tool_calls": [_call("k")]},
        {"role": "tool", "tool_call_id": "k", "content": "result"},
        {"role": "assistant", "content": "done"},
    ]
    for message in sent:
        store.append_message(thread.id, 1, message)
    assert store.messages(thread.id) == sent


def test_lookup_by_prefix(store: ConversationStore, tmp_path: Path) -> None:
    threads = [
        store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
        for _ in range(3)
    ]
    target = threads[0]
    assert store.get(target.id).id == target.id
    unique = next(
        n for n in range(4, 37) if all(not t.id.startswith(target.id[:n]) for t in threads[1:])
    )
    assert store.get(target.id[:unique]).id == target.id
    with pytest.raises(ConversationNotFound, match="at least 4 characters"):
        store.get(target.id[:3])
    with pytest.raises(ConversationNotFound, match="no conversation 'ffffffff-nope'"):
        store.get("ffffffff-nope")
    # Force two ids sharing a prefix: the prefix is ambiguous.
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE threads SET id = 'abcd1111' WHERE id = ?", (threads[1].id,))
        db.execute("UPDATE threads SET id = 'abcd2222' WHERE id = ?", (threads[2].id,))
    with pytest.raises(ConversationNotFound, match=r"'abcd' is ambiguous: .*abcd"):
        store.get("abcd")
    assert store.get("abcd2").id == "abcd2222"


def test_last_list_and_delete(store: ConversationStore, tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    assert store.last() is None
    first = store.create_thread(cwd=here, model="m", provider="local", settings={})
    second = store.create_thread(cwd=there, model="m", provider="local", settings={})
    assert store.last().id == second.id  # type: ignore[union-attr]
    store.append_event(first.id, 1, {"type": "turn.started"})  # first is now the latest
    assert store.last().id == first.id  # type: ignore[union-attr]
    assert store.last(there).id == second.id  # type: ignore[union-attr]
    assert store.last(tmp_path / "elsewhere") is None
    assert [t.id for t in store.list_threads()] == [first.id, second.id]
    assert [t.id for t in store.list_threads(limit=1)] == [first.id]

    store.append_message(first.id, 1, {"role": "user", "content": "x"})
    assert store.delete(first.id) is True
    assert store.delete(first.id) is False
    assert store.events(first.id) == []
    assert store.messages(first.id) == []
    with sqlite3.connect(store.path) as db:
        for table in ("events", "messages"):
            count = db.execute(f"SELECT COUNT(*) FROM {table} WHERE thread_id = ?", (first.id,))
            assert count.fetchone()[0] == 0
    assert [t.id for t in store.list_threads()] == [second.id]


def test_writes_to_unknown_threads_and_bad_payloads(
    store: ConversationStore, tmp_path: Path
) -> None:
    with pytest.raises(ConversationNotFound, match="nope"):
        store.append_event("nope", 1, {"type": "x"})
    with pytest.raises(ConversationNotFound, match="nope"):
        store.begin_turn("nope", "hi")
    thread = store.create_thread(cwd=tmp_path, model="m", provider="local", settings={})
    with pytest.raises(InvalidArgument, match="event cannot be stored as JSON"):
        store.append_event(thread.id, 1, {"type": "x", "bad": object()})
    assert store.events(thread.id) == []  # nothing half-written
    with pytest.raises(InvalidArgument, match="settings"):
        store.create_thread(cwd=tmp_path, model="m", provider="local", settings={"p": Path()})


def test_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    thread = store.create_thread(cwd=tmp_path, model="m", provider="p", settings={"k": [1, 2]})
    store.close()
    store.close()  # twice is fine
    with ConversationStore(path) as again:
        found = again.get(thread.id)
        assert (found.model, found.provider, found.settings) == ("m", "p", {"k": [1, 2]})


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ainos.app.agent._store import ConversationStore

    store = ConversationStore(Path(sys.argv[1]))
    thread = store.create_thread(cwd=Path.cwd(), model="m", provider="local", settings={})
    turn = store.begin_turn(thread.id, "list the files")
    store.append_event(thread.id, turn, {"type": "user_message", "text": "list the files"})
    store.append_event(thread.id, turn, {"type": "turn.started"})
    store.append_message(thread.id, turn, {"role": "user", "content": "list the files"})
    calls = [
        {"id": f"call_{n}", "type": "function",
         "function": {"name": "shell", "arguments": "{}"}}
        for n in ("a", "b")
    ]
    store.append_message(thread.id, turn, {"role": "assistant", "tool_calls": calls})
    store.append_message(thread.id, turn, {"role": "tool", "tool_call_id": "call_a",
                                           "content": "ok"})
    store.append_event(thread.id, turn, {"type": "item.started", "item": {
        "id": "item_1", "type": "command_execution", "command": "sleep 600",
        "aggregated_output": "", "exit_code": None, "status": "in_progress"}})
    print(thread.id, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_writer_leaves_a_resumable_thread(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert child.stdout is not None
        thread_id = child.stdout.readline().strip()
        assert thread_id, "the writer died before writing"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with ConversationStore(path) as store:
        (listed,) = store.list_threads()
        assert listed.id == thread_id
        assert listed.state == "running"
        assert listed.interrupted
        assert listed.title == "list the files"
        assert [e.data["type"] for e in store.events(thread_id)] == [
            "user_message",
            "turn.started",
            "item.started",
        ]
        messages = store.messages(thread_id)
        assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
        assert messages[2] == {"role": "tool", "tool_call_id": "call_a", "content": "ok"}
        assert messages[3] == {
            "role": "tool",
            "tool_call_id": "call_b",
            "content": INTERRUPTED_TOOL_RESULT,
        }

        # Resuming: this process owns the next turn; the thread is no longer interrupted.
        assert store.begin_turn(thread_id, "go on") == 2
        assert not store.get(thread_id).interrupted
        store.end_turn(thread_id)
        assert store.get(thread_id).state == "idle"


def test_a_turn_left_running_by_an_exited_process_is_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    script = (
        "import sys; from pathlib import Path;"
        "from ainos.app.agent._store import ConversationStore as S;"
        "s = S(Path(sys.argv[1]));"
        "t = s.create_thread(cwd=Path.cwd(), model='m', provider='local', settings={});"
        "s.begin_turn(t.id, 'hi'); print(t.id)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    with ConversationStore(path) as store:
        thread = store.get(done.stdout.strip())
        assert thread.state == "running"
        assert thread.interrupted
