"""The agent's events as Codex ``EventMsg`` payloads, and ``parsed_cmd``."""

from __future__ import annotations

from typing import Any

import pytest

from ainos.app.mcp_server._codex_events import parsed_command, session_configured, to_event_msgs
from ainos.protocol.agent import (
    AgentMessageItem,
    CommandExecutionItem,
    ErrorEvent,
    ErrorItem,
    FileChangeItem,
    FileUpdateChange,
    ItemCompleted,
    ItemStarted,
    ItemStatus,
    McpToolCallItem,
    ReasoningItem,
    TodoEntry,
    TodoListItem,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
    UserMessage,
)

CWD = "/work/repo"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["cat", "-n", "src/app.py"],
            {"type": "read", "cmd": "cat -n src/app.py", "name": "app.py"},
        ),
        (["sed", "-n", "1,20p", "README.md"], {"type": "read", "name": "README.md"}),
        (["ls", "-la", "src"], {"type": "list_files", "cmd": "ls -la src", "path": "src"}),
        (["tree"], {"type": "list_files", "path": None}),
        (["rg", "-n", "TODO", "src"], {"type": "search", "query": "TODO", "path": "src"}),
        (["/usr/bin/grep", "needle"], {"type": "search", "query": "needle", "path": None}),
        (["touch", "made-by-agent"], {"type": "unknown", "cmd": "touch made-by-agent"}),
        # A shell script is read for the command it runs.
        (["bash", "-lc", "cat notes.txt"], {"type": "read", "cmd": "cat notes.txt"}),
        (["sh", "-c", "ls docs"], {"type": "list_files", "path": "docs"}),
        (["bash", "-lc", "   "], {"type": "unknown", "cmd": ""}),
        # cat with no operand reads stdin: nothing named.
        (["cat"], {"type": "unknown", "cmd": "cat"}),
    ],
)
def test_parsed_command(command: list[str], expected: dict[str, Any]) -> None:
    parsed = parsed_command(command)
    assert len(parsed) == 1
    assert parsed[0] == {**parsed[0], **expected}
    assert parsed_command(tuple(command)) == parsed


def test_session_configured() -> None:
    assert session_configured("t-1", "gpt-x", 4) == {
        "type": "session_configured",
        "session_id": "t-1",
        "model": "gpt-x",
        "history_log_id": 0,
        "history_entry_count": 4,
    }


def _one(event: Any, last: str | None = None) -> dict[str, Any]:
    msgs = to_event_msgs(event, CWD, last)
    assert len(msgs) == 1, msgs
    return msgs[0]


def test_a_command_begins_and_ends() -> None:
    item = CommandExecutionItem(id="item_3", command="rg -n 'a b' src")
    begin = _one(ItemStarted(item=item))
    assert begin == {
        "type": "exec_command_begin",
        "call_id": "item_3",
        "command": ["rg", "-n", "a b", "src"],
        "cwd": CWD,
        "parsed_cmd": [{"type": "search", "cmd": "rg -n 'a b' src", "query": "a b", "path": "src"}],
    }
    done = item.model_copy(
        update={"aggregated_output": "x\n", "exit_code": 2, "status": ItemStatus.FAILED}
    )
    end = _one(ItemCompleted(item=done))
    assert end["type"] == "exec_command_end"
    assert end["call_id"] == "item_3"
    assert end["exit_code"] == 2
    assert end["stdout"] == end["aggregated_output"] == end["formatted_output"] == "x\n"


def test_a_command_without_exit_code_ends_with_minus_one() -> None:
    """A command that was declined or cancelled has no exit code; Codex's field is an int."""
    item = CommandExecutionItem(id="item_0", command="sleep 30", status=ItemStatus.DECLINED)
    assert _one(ItemCompleted(item=item))["exit_code"] == -1


def test_an_unbalanced_command_is_kept_whole() -> None:
    item = CommandExecutionItem(id="item_0", command="echo 'unbalanced")
    assert _one(ItemStarted(item=item))["command"] == ["echo 'unbalanced"]


def test_a_patch_begins_and_ends() -> None:
    changes = [FileUpdateChange(path="a.py", kind="update"), FileUpdateChange(path="b", kind="add")]
    item = FileChangeItem(id="item_1", changes=changes)
    begin = _one(ItemStarted(item=item))
    assert begin["type"] == "patch_apply_begin"
    assert begin["changes"] == {"a.py": {"type": "update"}, "b": {"type": "add"}}
    ok = _one(ItemCompleted(item=item.model_copy(update={"status": ItemStatus.COMPLETED})))
    assert ok == {
        "type": "patch_apply_end",
        "call_id": "item_1",
        "stdout": "",
        "stderr": "",
        "success": True,
    }
    refused = _one(ItemCompleted(item=item.model_copy(update={"status": ItemStatus.DECLINED})))
    assert refused["success"] is False
    assert refused["stderr"]


def test_an_mcp_tool_call_begins_and_ends_ok_or_err() -> None:
    item = McpToolCallItem(id="item_2", server="actions", tool="count", arguments={"Text": "a"})
    begin = _one(ItemStarted(item=item))
    assert begin["type"] == "mcp_tool_call_begin"
    assert begin["invocation"] == {"server": "actions", "tool": "count", "arguments": {"Text": "a"}}
    result = {"content": [{"type": "text", "text": "1 word"}]}
    ok = _one(ItemCompleted(item=item.model_copy(update={"result": result})))
    assert ok["type"] == "mcp_tool_call_end"
    assert ok["result"] == {"Ok": result}
    failed = item.model_copy(update={"error": {"message": "no such input"}})
    assert _one(ItemCompleted(item=failed))["result"] == {"Err": "no such input"}


def test_items_that_complete_only() -> None:
    assert _one(ItemCompleted(item=AgentMessageItem(id="i", text="hi"))) == {
        "type": "agent_message",
        "message": "hi",
    }
    assert _one(ItemCompleted(item=ReasoningItem(id="i", text="hmm"))) == {
        "type": "agent_reasoning",
        "text": "hmm",
    }
    plan = TodoListItem(
        id="i",
        items=[TodoEntry(text="read", completed=True), TodoEntry(text="fix", completed=False)],
    )
    assert _one(ItemCompleted(item=plan)) == {
        "type": "plan_update",
        "explanation": None,
        "plan": [{"step": "read", "status": "completed"}, {"step": "fix", "status": "pending"}],
    }
    assert _one(ItemCompleted(item=ErrorItem(id="i", message="stopped: budget"))) == {
        "type": "warning",
        "message": "stopped: budget",
    }
    # Items with no begin message in Codex give none.
    assert to_event_msgs(ItemStarted(item=AgentMessageItem(id="i", text="")), CWD, None) == []


def test_a_turn_starts_and_completes_with_usage_and_last_message() -> None:
    assert _one(TurnStarted())["type"] == "task_started"
    usage = Usage(input_tokens=100, cached_input_tokens=40, output_tokens=7)
    msgs = to_event_msgs(TurnCompleted(usage=usage), CWD, "the answer")
    assert [m["type"] for m in msgs] == ["token_count", "task_complete"]
    assert msgs[0]["info"]["total_token_usage"] == {
        "input_tokens": 100,
        "cached_input_tokens": 40,
        "output_tokens": 7,
        "total_tokens": 107,
    }
    assert msgs[1] == {"type": "task_complete", "last_agent_message": "the answer"}
    assert to_event_msgs(TurnCompleted(usage=usage), CWD, None)[1]["last_agent_message"] is None


def test_a_failed_turn_is_an_error_and_an_interrupted_one_aborted() -> None:
    assert _one(TurnFailed.of("interrupted")) == {"type": "turn_aborted", "reason": "interrupted"}
    assert _one(TurnFailed.of("cannot reach the model")) == {
        "type": "error",
        "message": "cannot reach the model",
    }
    assert _one(ErrorEvent(message="retrying")) == {"type": "stream_error", "message": "retrying"}


def test_events_codex_has_no_message_for_give_none() -> None:
    assert to_event_msgs(UserMessage(text="hello"), CWD, None) == []
