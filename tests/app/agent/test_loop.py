"""The agent loop, driven by a scripted model over the real tools, sandbox, approvals and
conversation store in a git repository: the events of a turn (validated against the
``exec --json`` schema), what the model is sent back, budgets, approvals, failures, the small
model's playbook and resuming a conversation."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.app.agent.conftest import RecordingApprover, validate_events

from ainos.app.agent._approval import ApprovalDecision
from ainos.app.agent._config import AgentConfig, ApprovalPolicy
from ainos.app.agent._model import ModelReply, ModelRequest, ModelTraits, ToolCall
from ainos.app.agent._store import INTERRUPTED_TOOL_RESULT, ConversationStore
from ainos.app.agent._wiring import AgentRun, start_session
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.agent.sandbox import check_sandbox
from ainos.app.agent.tools import ToolBox, builtin_tools
from ainos.errors import ContextLengthExceeded, ModelError
from ainos.protocol.agent import AgentEvent, Usage

needs_sandbox = pytest.mark.skipif(not check_sandbox().ok, reason="no sandbox mechanism works")

APPROVED = ApprovalDecision.APPROVED
DENIED = ApprovalDecision.DENIED
ABORT = ApprovalDecision.ABORT
FOR_SESSION = ApprovalDecision.APPROVED_FOR_SESSION
DROPPED = "[output dropped to fit the model's context window]"
REPEATED = "already called with these arguments in this turn; use the earlier result"
# Prompts the playbook has nothing to do for: the model chooses every call.
PROMPT = "Which greeting does the library use?"


# -- helpers ------------------------------------------------------------------------------------


class Calls:
    """Tool calls with predictable ids (call_1, call_2 …)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, name: str, **arguments: Any) -> ToolCall:
        self.count += 1
        return ToolCall(f"call_{self.count}", name, arguments)


def tools(*calls: ToolCall, text: str = "", usage: Usage | None = None) -> ModelReply:
    return ModelReply(
        text=text, tool_calls=calls, usage=usage or Usage(), finish_reason="tool_calls"
    )


def answer(text: str, usage: Usage | None = None) -> ModelReply:
    return ModelReply(text=text, usage=usage or Usage())


def usage(input_tokens: int, output_tokens: int, cached: int = 0) -> Usage:
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, cached_input_tokens=cached)


def config(**options: Any) -> AgentConfig:
    return AgentConfig(model="fake-scripted", **options)


def session(
    repo: Path,
    model: FakeScriptedModel,
    *,
    cfg: AgentConfig | None = None,
    approver: RecordingApprover | None = None,
    store: ConversationStore | None = None,
) -> AgentRun:
    return start_session(
        model,
        cfg or config(),
        repo,
        approver=approver or RecordingApprover(),
        store=store,
        tools=ToolBox(builtin_tools()),
    )


def turn(run: AgentRun, prompt: str = PROMPT) -> list[dict[str, Any]]:
    """One turn's events, each checked against the schema, as dicts."""
    return validate_events(run.run_turn(prompt))


def run_script(
    repo: Path, script: Sequence[Any], prompt: str = PROMPT, **options: Any
) -> tuple[list[dict[str, Any]], FakeScriptedModel]:
    traits = options.pop("traits", None)
    model = FakeScriptedModel(script, traits=traits)
    events = turn(session(repo, model, **options), prompt)
    assert model.remaining == 0, "the loop asked the model fewer times than scripted"
    return events, model


def shape(events: list[dict[str, Any]]) -> list[str]:
    """``item.completed:mcp_tool_call`` … for each event."""
    return [f"{e['type']}:{e['item']['type']}" if "item" in e else e["type"] for e in events]


def completed(events: list[dict[str, Any]], item_type: str | None = None) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in events
        if e["type"] == "item.completed" and item_type in (None, e["item"]["type"])
    ]


def final_answer(events: list[dict[str, Any]]) -> str:
    messages = completed(events, "agent_message")
    assert len(messages) == 1
    text: str = messages[0]["text"]
    return text


def tool_messages(request: ModelRequest) -> dict[str, str]:
    """The tool results a request carries, by call id."""
    return {m["tool_call_id"]: m["content"] for m in request.messages if m["role"] == "tool"}


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the repository and /tmp: outside every writable root."""
    path = Path(tempfile.mkdtemp(prefix="ainos-loop-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def call() -> Calls:
    return Calls()


# -- a turn with tools --------------------------------------------------------------------------


def test_tool_calls_then_an_answer_make_codex_items_in_order(repo: Path, call: Calls) -> None:
    listing = call("list_dir", path=".")
    reading = call("read_file", path="notes.txt")
    events, model = run_script(
        repo,
        [
            tools(listing, usage=usage(100, 10, cached=40)),
            tools(reading, text="The notes look relevant.", usage=usage(150, 12)),
            answer("The notes say hello.", usage=usage(200, 8)),
        ],
    )

    assert shape(events) == [
        "user_message",
        "turn.started",
        "item.started:mcp_tool_call",
        "item.completed:mcp_tool_call",
        "item.completed:reasoning",
        "item.started:mcp_tool_call",
        "item.completed:mcp_tool_call",
        "item.completed:agent_message",
        "turn.completed",
    ]
    assert events[0]["text"] == PROMPT
    ids = [e["item"]["id"] for e in events if e["type"] == "item.completed"]
    assert ids == ["item_0", "item_1", "item_2", "item_3"]
    assert events[2]["item"] == {
        "id": "item_0",
        "type": "mcp_tool_call",
        "server": "ainos",
        "tool": "list_dir",
        "arguments": {"path": "."},
        "result": None,
        "error": None,
        "status": "in_progress",
    }
    listed, read = completed(events, "mcp_tool_call")
    assert (listed["status"], read["status"]) == ("completed", "completed")
    assert (read["tool"], read["arguments"]) == ("read_file", {"path": "notes.txt"})
    assert "notes.txt" in listed["result"]["content"][0]["text"]
    assert "hello from the notes" in read["result"]["content"][0]["text"]
    assert completed(events, "reasoning")[0]["text"] == "The notes look relevant."
    assert final_answer(events) == "The notes say hello."
    assert events[-1]["usage"] == {
        "input_tokens": 450,
        "cached_input_tokens": 40,
        "output_tokens": 30,
    }

    first, second, third = model.requests
    assert first.messages[0]["role"] == "system"
    assert first.messages[1:] == [{"role": "user", "content": PROMPT}]
    assert {spec.name for spec in first.tools} >= {"shell", "read_file", "apply_patch"}
    assert first.tool_choice == "auto"
    # The second request: the assistant's call, then its result under the same id.
    assert second.messages[-2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [listing.openai()],
    }
    assert second.messages[-1]["role"] == "tool"
    assert second.messages[-1]["tool_call_id"] == listing.call_id
    assert "pkg/" in second.messages[-1]["content"]
    assert tool_messages(third)[reading.call_id].startswith("L1: hello from the notes")
    assert third.messages[-2]["content"] == "The notes look relevant."


def test_several_calls_in_one_reply_each_get_their_result(repo: Path, call: Calls) -> None:
    calls = (call("read_file", path="notes.txt"), call("grep", pattern="TODO"))
    events, model = run_script(repo, [tools(*calls), answer("done")])

    results = tool_messages(model.requests[1])
    assert list(results) == [c.call_id for c in calls]
    assert "pkg/greet.py:2:" in results[calls[1].call_id]
    assert [i["tool"] for i in completed(events, "mcp_tool_call")] == ["read_file", "grep"]


def test_a_failing_tool_is_a_failed_item_and_the_model_reads_why(repo: Path, call: Calls) -> None:
    missing = call("read_file", path="no/such.txt")
    events, model = run_script(repo, [tools(missing), answer("No such file.")])

    item = completed(events, "mcp_tool_call")[0]
    assert item["status"] == "failed"
    assert item["error"]["message"]
    assert tool_messages(model.requests[1])[missing.call_id].startswith("error: ")
    assert events[-1]["type"] == "turn.completed"


def test_item_ids_keep_counting_across_the_turns_of_a_session(repo: Path, call: Calls) -> None:
    model = FakeScriptedModel(
        [
            tools(call("list_dir", path=".")),
            answer("one"),
            tools(call("grep", pattern="x")),
            answer("two"),
        ]
    )
    run = session(repo, model)

    first = turn(run)
    second = turn(run, "And then?")

    ids = [e["item"]["id"] for e in first + second if e["type"] == "item.completed"]
    assert ids == ["item_0", "item_1", "item_2", "item_3"]
    # The second turn's request carries the first turn whole.
    history = model.requests[2].messages[1:]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant", "user"]
    assert history[3] == {"role": "assistant", "content": "one"}


# -- shell --------------------------------------------------------------------------------------


@needs_sandbox
def test_shell_writes_in_the_workspace_under_workspace_write(repo: Path, call: Calls) -> None:
    write = call("shell", command=["sh", "-c", "echo made > made.txt; cat made.txt"])
    events, model = run_script(
        repo, [tools(write), answer("Made it.")], cfg=config(sandbox_mode="workspace-write")
    )

    assert shape(events)[2:4] == [
        "item.started:command_execution",
        "item.completed:command_execution",
    ]
    assert events[2]["item"]["status"] == "in_progress"
    item = completed(events, "command_execution")[0]
    assert item["command"] == "sh -c 'echo made > made.txt; cat made.txt'"
    assert (item["status"], item["exit_code"], item["aggregated_output"]) == (
        "completed",
        0,
        "made\n",
    )
    assert (repo / "made.txt").read_text() == "made\n"
    assert tool_messages(model.requests[1])[write.call_id] == "exit code: 0\nmade\n"


@needs_sandbox
def test_a_shell_write_outside_the_workspace_fails(repo: Path, outside: Path, call: Calls) -> None:
    target = outside / "escaped.txt"
    write = call("shell", command=["touch", str(target)])
    events, model = run_script(
        repo, [tools(write), answer("It was refused.")], cfg=config(sandbox_mode="workspace-write")
    )

    item = completed(events, "command_execution")[0]
    assert item["status"] == "failed"
    assert item["exit_code"] not in (None, 0)
    assert not target.exists()
    assert tool_messages(model.requests[1])[write.call_id].startswith("exit code: ")
    assert final_answer(events) == "It was refused."


@needs_sandbox
def test_read_only_sandbox_refuses_a_write_in_the_workspace(repo: Path, call: Calls) -> None:
    write = call("shell", command=["touch", "made.txt"])
    events, _ = run_script(repo, [tools(write), answer("no")], cfg=config(sandbox_mode="read-only"))

    assert completed(events, "command_execution")[0]["status"] == "failed"
    assert not (repo / "made.txt").exists()


# -- apply_patch --------------------------------------------------------------------------------


def patch(*body: str) -> str:
    return "\n".join(["*** Begin Patch", *body, "*** End Patch"]) + "\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


PATCH_CASES = {
    "add": (
        patch("*** Add File: pkg/farewell.py", "+def bye():", "+    return 'Bye'"),
        [{"path": "pkg/farewell.py", "kind": "add"}],
        {"pkg/farewell.py": "def bye():\n    return 'Bye'\n"},
    ),
    "update": (
        patch(
            "*** Update File: pkg/greet.py",
            "@@",
            "-    return 'Hello, ' + name",
            "+    return 'Hi, ' + name",
        ),
        [{"path": "pkg/greet.py", "kind": "update"}],
        {
            "pkg/greet.py": (
                "def greet(name):\n"
                "    # TODO: localise the greeting\n"
                "    return 'Hi, ' + name\n"
                "\n\n"
                "def shout(name):\n"
                "    return greet(name).upper()\n"
            )
        },
    ),
    "delete": (
        patch("*** Delete File: notes.txt"),
        [{"path": "notes.txt", "kind": "delete"}],
        {"notes.txt": None},
    ),
    "move": (
        patch(
            "*** Update File: notes.txt",
            "*** Move to: docs/notes.md",
            "@@",
            "-hello from the notes",
            "+# Notes",
        ),
        [{"path": "notes.txt", "kind": "update"}],
        {"notes.txt": None, "docs/notes.md": "# Notes\n"},
    ),
}


@pytest.mark.parametrize("case", list(PATCH_CASES))
def test_apply_patch_through_the_loop(repo: Path, call: Calls, case: str) -> None:
    text, changes, expected = PATCH_CASES[case]
    edit = call("apply_patch", input=text)
    before = snapshot(repo)

    events, model = run_script(
        repo, [tools(edit), answer("Edited.")], cfg=config(sandbox_mode="workspace-write")
    )

    assert shape(events)[2:4] == ["item.started:file_change", "item.completed:file_change"]
    item = completed(events, "file_change")[0]
    assert (item["changes"], item["status"]) == (changes, "completed")
    assert tool_messages(model.requests[1])[edit.call_id].startswith("applied:\n")
    after = snapshot(repo)
    for path, content in expected.items():
        if content is None:
            assert path not in after
        else:
            assert after[path].decode() == content
    untouched = {p: b for p, b in before.items() if p not in expected}
    assert {p: after[p] for p in untouched} == untouched


def test_a_failing_hunk_changes_nothing_and_the_model_retries(repo: Path, call: Calls) -> None:
    bad = call(
        "apply_patch",
        input=patch(
            "*** Update File: pkg/greet.py",
            "@@",
            "-    return 'Howdy, ' + name",
            "+    return 'Hi'",
        ),
    )
    good = call(
        "apply_patch",
        input=patch(
            "*** Update File: pkg/greet.py",
            "@@",
            "-    return 'Hello, ' + name",
            "+    return 'Hi'",
        ),
    )

    def retry(request: ModelRequest) -> ModelReply:
        told = tool_messages(request)[bad.call_id]
        assert told.startswith("patch rejected, nothing changed: ")
        assert "pkg/greet.py" in told
        assert snapshot(repo) == before
        return tools(good)

    before = snapshot(repo)
    events, model = run_script(
        repo, [tools(bad), retry, answer("Fixed.")], cfg=config(sandbox_mode="workspace-write")
    )

    failed, applied = completed(events, "file_change")
    assert failed["status"] == "failed"
    assert (applied["status"], applied["changes"]) == (
        "completed",
        [{"path": "pkg/greet.py", "kind": "update"}],
    )
    assert "    return 'Hi'\n" in (repo / "pkg/greet.py").read_text()
    assert tool_messages(model.requests[2])[good.call_id] == "applied:\nupdate pkg/greet.py"


def test_a_patch_in_a_read_only_sandbox_needs_an_approval(repo: Path, call: Calls) -> None:
    edit = call("apply_patch", input=patch("*** Add File: new.txt", "+x"))
    person = RecordingApprover([DENIED])

    events, model = run_script(
        repo,
        [tools(edit), answer("Not allowed.")],
        cfg=config(sandbox_mode="read-only"),
        approver=person,
    )

    assert [r.kind for r in person.asked] == ["patch"]
    assert completed(events, "file_change")[0]["status"] == "declined"
    assert not (repo / "new.txt").exists()
    assert tool_messages(model.requests[1])[edit.call_id].startswith("patch not applied: ")


# -- update_plan --------------------------------------------------------------------------------


def test_update_plan_is_a_todo_list_item(repo: Path, call: Calls) -> None:
    plan = call(
        "update_plan",
        plan=[
            {"step": "Read the code", "status": "completed"},
            {"step": "Fix the greeting", "status": "in_progress"},
            {"step": "Run the tests", "status": "pending"},
        ],
    )
    events, model = run_script(repo, [tools(plan), answer("Planned.")])

    assert shape(events)[2:4] == ["item.started:todo_list", "item.completed:todo_list"]
    assert completed(events, "todo_list")[0]["items"] == [
        {"text": "Read the code", "completed": True},
        {"text": "Fix the greeting", "completed": False},
        {"text": "Run the tests", "completed": False},
    ]
    assert tool_messages(model.requests[1])[plan.call_id] == "plan updated"


# -- approvals ----------------------------------------------------------------------------------


def untrusted(**options: Any) -> AgentConfig:
    return config(
        approval_policy=ApprovalPolicy.UNTRUSTED, sandbox_mode="workspace-write", **options
    )


@needs_sandbox
def test_untrusted_asks_and_a_denial_reaches_the_model(repo: Path, call: Calls) -> None:
    touch = call("shell", command=["touch", "x"])
    person = RecordingApprover([DENIED])

    events, model = run_script(
        repo, [tools(touch), answer("You declined it.")], cfg=untrusted(), approver=person
    )

    assert [(r.kind, r.command) for r in person.asked] == [("exec", ("touch", "x"))]
    assert person.asked[0].call_id == touch.call_id
    item = completed(events, "command_execution")[0]
    assert (item["status"], item["exit_code"]) == ("declined", None)
    assert not (repo / "x").exists()
    assert tool_messages(model.requests[1])[touch.call_id] == "not run: the user declined it"
    assert final_answer(events) == "You declined it."


@needs_sandbox
def test_untrusted_runs_a_read_only_command_without_asking(repo: Path, call: Calls) -> None:
    events, _ = run_script(
        repo, [tools(call("shell", command=["ls"])), answer("ok")], cfg=untrusted()
    )

    item = completed(events, "command_execution")[0]
    assert item["status"] == "completed"
    assert "notes.txt" in item["aggregated_output"]


@needs_sandbox
def test_approved_for_session_is_not_asked_again(repo: Path, call: Calls) -> None:
    person = RecordingApprover([FOR_SESSION])
    model = FakeScriptedModel(
        [
            tools(call("shell", command=["touch", "x"])),
            answer("made"),
            tools(call("shell", command=["touch", "x"])),
            answer("made again"),
        ]
    )
    run = session(repo, model, cfg=untrusted(), approver=person)

    first = turn(run)
    (repo / "x").unlink()
    second = turn(run, "Once more, please.")

    assert len(person.asked) == 1
    assert completed(first, "command_execution")[0]["status"] == "completed"
    assert completed(second, "command_execution")[0]["status"] == "completed"
    assert (repo / "x").exists()


@needs_sandbox
def test_abort_ends_the_turn_saying_so(repo: Path, call: Calls) -> None:
    touch, other = call("shell", command=["touch", "x"]), call("shell", command=["touch", "y"])
    person = RecordingApprover([ABORT])
    model = FakeScriptedModel([tools(touch, other), answer("Next turn works.")])
    run = session(repo, model, cfg=untrusted(), approver=person)

    events = turn(run)

    assert len(model.requests) == 1  # the model is not asked again in this turn
    assert len(person.asked) == 1  # nor is the person about the second call
    assert [i["status"] for i in completed(events, "command_execution")] == ["declined"]
    assert final_answer(events) == "The turn was ended at an approval prompt."
    assert events[-1]["type"] == "turn.completed"
    assert not (repo / "x").exists()
    assert not (repo / "y").exists()

    # The next turn runs normally, and every call of the aborted reply has its result.
    after = turn(run, "Never mind.")
    assert final_answer(after) == "Next turn works."
    results = tool_messages(model.requests[1])
    assert set(results) == {touch.call_id, other.call_id}
    assert results[touch.call_id] == "not run: the user declined it"
    assert results[other.call_id] == "not run: the turn was ended at an approval prompt"


@needs_sandbox
def test_on_request_escalation_asks_and_runs_outside_the_sandbox(
    repo: Path, outside: Path, call: Calls
) -> None:
    target = outside / "granted.txt"
    escalate = call(
        "shell",
        command=["touch", str(target)],
        escalate=True,
        justification="write the shared file",
    )
    person = RecordingApprover([APPROVED])

    events, _ = run_script(
        repo,
        [tools(escalate), answer("Written.")],
        cfg=config(approval_policy=ApprovalPolicy.ON_REQUEST, sandbox_mode="workspace-write"),
        approver=person,
    )

    assert [(r.command, r.reason) for r in person.asked] == [
        (("touch", str(target)), "write the shared file")
    ]
    assert completed(events, "command_execution")[0]["status"] == "completed"
    assert target.exists()


@needs_sandbox
def test_on_request_runs_sandboxed_commands_without_asking(repo: Path, call: Calls) -> None:
    events, _ = run_script(
        repo,
        [tools(call("shell", command=["touch", "x"])), answer("ok")],
        cfg=config(approval_policy=ApprovalPolicy.ON_REQUEST, sandbox_mode="workspace-write"),
    )

    assert completed(events, "command_execution")[0]["status"] == "completed"
    assert (repo / "x").exists()


# -- budgets ------------------------------------------------------------------------------------


def test_the_step_budget_ends_the_turn_with_an_error_item_and_an_answer(
    repo: Path, call: Calls
) -> None:
    events, model = run_script(
        repo,
        [tools(call("list_dir", path=".")), tools(call("read_file", path="notes.txt"))],
        cfg=config(max_steps=2),
    )

    assert len(model.requests) == 2
    assert shape(events)[-3:] == [
        "item.completed:error",
        "item.completed:agent_message",
        "turn.completed",
    ]
    error = completed(events, "error")[0]
    assert error["message"] == "stopped: the step budget (2 model calls) is spent"
    assert final_answer(events) == (
        "I stopped before finishing: the step budget (2 model calls) is spent."
    )


def test_the_token_budget_counts_the_replies_usage(repo: Path, call: Calls) -> None:
    events, model = run_script(
        repo,
        [
            tools(call("list_dir", path="."), usage=usage(60, 10)),
            tools(call("read_file", path="notes.txt"), usage=usage(50, 5)),
        ],
        cfg=config(max_tokens=100),
    )

    assert len(model.requests) == 2
    assert completed(events, "error")[0]["message"] == (
        "stopped: the token budget (100 tokens) is spent"
    )
    assert events[-1] == {
        "type": "turn.completed",
        "usage": {"input_tokens": 110, "cached_input_tokens": 0, "output_tokens": 15},
    }


def test_a_repeated_call_is_not_run_again_and_the_model_must_answer(
    repo: Path, call: Calls
) -> None:
    first, again = call("grep", pattern="greet"), call("grep", pattern="greet")
    events, model = run_script(
        repo,
        [tools(first), tools(again), answer("Found it.")],
    )

    assert [i["arguments"] for i in completed(events, "mcp_tool_call")] == [{"pattern": "greet"}]
    assert tool_messages(model.requests[2])[again.call_id] == REPEATED
    assert model.requests[1].tools
    assert model.requests[1].tool_choice == "auto"
    assert (model.requests[2].tools, model.requests[2].tool_choice) == ((), "none")
    assert final_answer(events) == "Found it."


def test_tool_calls_when_none_were_offered_leave_the_text_as_the_answer(
    repo: Path, call: Calls
) -> None:
    grep = call("grep", pattern="greet")
    events, _ = run_script(
        repo, [tools(grep), tools(grep), tools(call("list_dir", path="."), text="Stuck.")]
    )

    assert final_answer(events) == "Stuck."
    assert len(completed(events, "mcp_tool_call")) == 1


def test_a_repeat_beside_a_new_call_keeps_the_tools(repo: Path, call: Calls) -> None:
    first = call("grep", pattern="greet")
    again, fresh = call("grep", pattern="greet"), call("list_dir", path="pkg")
    events, model = run_script(repo, [tools(first), tools(again, fresh), answer("ok")])

    assert [i["tool"] for i in completed(events, "mcp_tool_call")] == ["grep", "list_dir"]
    assert model.requests[2].tool_choice == "auto"


# -- faults -------------------------------------------------------------------------------------


def test_an_unknown_tool_is_an_error_item_and_the_model_is_told_the_tools(
    repo: Path, call: Calls
) -> None:
    wrong = call("open_file", path="notes.txt")
    events, model = run_script(repo, [tools(wrong), answer("Sorry.")])

    assert shape(events)[2] == "item.completed:error"
    message = completed(events, "error")[0]["message"]
    assert message.startswith("no tool named 'open_file'; the tools are: shell, read_file")
    assert tool_messages(model.requests[1])[wrong.call_id] == message
    assert events[-1]["type"] == "turn.completed"


def test_a_model_error_fails_the_turn_with_its_message(repo: Path) -> None:
    def broken(request: ModelRequest) -> ModelReply:
        raise ModelError("the server said 500:\n  internal error")

    store = ConversationStore(repo.parent / "conversations.sqlite3")
    model = FakeScriptedModel([broken, answer("Back again.")])
    run = session(repo, model, store=store)

    events = turn(run)
    after = turn(run, "Try again.")

    assert shape(events) == ["user_message", "turn.started", "turn.failed"]
    assert events[-1]["error"] == {"message": "the server said 500: internal error"}
    assert store.get(run.thread.id).state == "idle"
    # The failed turn's prompt is in the history; the next turn still works.
    assert final_answer(after) == "Back again."
    assert [m["content"] for m in model.requests[1].messages if m["role"] == "user"] == [
        PROMPT,
        "Try again.",
    ]
    # ... answered by a note of the failure, so user and assistant still alternate.
    assert [m["role"] for m in model.requests[1].messages] == [
        "system",
        "user",
        "assistant",
        "user",
    ]
    assert model.requests[1].messages[2]["content"] == (
        "(this turn failed: the server said 500: internal error)"
    )
    store.close()


def test_a_script_running_out_is_a_failed_turn(repo: Path, call: Calls) -> None:
    model = FakeScriptedModel([tools(call("list_dir", path="."))])
    events = turn(session(repo, model))

    assert events[-1]["type"] == "turn.failed"
    assert "script has 1 replies" in events[-1]["error"]["message"]


def test_context_length_exceeded_retries_without_old_tool_outputs(repo: Path, call: Calls) -> None:
    listing, reading = call("list_dir", path="."), call("read_file", path="notes.txt")

    def too_long(request: ModelRequest) -> ModelReply:
        raise ContextLengthExceeded("too long", prompt_tokens=5000, context_tokens=4096)

    model = FakeScriptedModel(
        [tools(listing), answer("Listed."), tools(reading), too_long, answer("Hello.")]
    )
    run = session(repo, model)
    turn(run)

    events = turn(run, "And the notes?")

    assert final_answer(events) == "Hello."
    failed, retried = model.requests[3], model.requests[4]
    assert "pkg/" in tool_messages(failed)[listing.call_id]
    # The earlier turn's output is dropped; this turn's is kept.
    assert tool_messages(retried) == {
        listing.call_id: DROPPED,
        reading.call_id: tool_messages(failed)[reading.call_id],
    }
    assert [m["role"] for m in retried.messages] == [m["role"] for m in failed.messages]
    assert retried.tools == failed.tools


def test_context_length_exceeded_twice_fails_the_turn(repo: Path) -> None:
    def too_long(request: ModelRequest) -> ModelReply:
        raise ContextLengthExceeded("prompt too long", prompt_tokens=9, context_tokens=8)

    events, _ = run_script(repo, [too_long, too_long])

    assert events[-1] == {"type": "turn.failed", "error": {"message": "prompt too long"}}


# -- a small model ------------------------------------------------------------------------------

SMALL = ModelTraits(small=True, native_tools=False, context_tokens=2048)
NONSENSE = (
    "This codebase has 9000 files of Rust and 77 TODO markers. "
    "It is a greeting library written in Python. "
    "The largest file is main.rs with 31337 lines. "
    "It offers greet and shout functions."
)


def test_a_small_model_explains_what_the_playbook_measured(repo: Path) -> None:
    model = FakeScriptedModel([answer(NONSENSE, usage=usage(300, 40))], traits=SMALL)
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = turn(run, "Analyze this codebase")

    tools_run = [(i["server"], i["tool"]) for i in completed(events, "mcp_tool_call")]
    assert tools_run == [
        ("actions", "action_Ainos_AnalyzeCodebase"),
        ("ainos", "list_dir"),
        ("ainos", "read_file"),
        ("ainos", "grep"),
    ]
    assert all(i["status"] == "completed" for i in completed(events, "mcp_tool_call"))
    # The model is asked once, with no tools, to explain a digest of the results.
    (request,) = model.requests
    assert (request.tools, request.tool_choice) == ((), "none")
    assert "Analyze this codebase" in request.messages[-1]["content"]
    assert "Largest file: pkg/greet.py (7 lines)" in request.messages[-1]["content"]

    text = final_answer(events)
    prose, figures = text.split("\n\n", 1)
    # Sentences with invented figures are dropped, and so is one about what no tool showed
    # (no tool output mentions shout), the grounded one kept.
    assert prose == "It is a greeting library written in Python."
    assert figures.startswith("Figures measured by Ainos.AnalyzeCodebase:\n")
    assert "- Largest file: pkg/greet.py (7 lines)" in figures
    assert "- TODO markers: 1 (TODO 1)" in figures
    assert "- Described in README.md as: A tiny greeting library." in figures
    for invented in ("9000", "77", "31337", "main.rs", "Rust"):
        assert invented not in text
    assert events[-1]["usage"]["input_tokens"] == 300


SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}


def test_a_small_models_json_answer_stopped_in_a_loop_is_closed_and_said_so(repo: Path) -> None:
    looping = '{"summary": "A greeting library, a greeting library, a greeting'
    reply = ModelReply(text=looping, finish_reason="repetition")
    model = FakeScriptedModel([reply], traits=SMALL)
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = validate_events(run.run_turn("Analyze this codebase", output_schema=SUMMARY_SCHEMA))

    (request,) = model.requests
    assert request.output_schema == SUMMARY_SCHEMA
    (note,) = completed(events, "error")
    assert note["message"] == (
        "the model's JSON answer was cut short by the repetition guard (a loop); "
        "it was closed where it stopped"
    )
    answer = json.loads(final_answer(events))
    assert answer == {"summary": "A greeting library, a greeting library, a greeting"}
    assert events[-1]["type"] == "turn.completed"


def test_a_json_answer_missing_what_the_schema_requires_fails_the_turn(repo: Path) -> None:
    model = FakeScriptedModel([ModelReply(text='{"sum', finish_reason="length")])
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = validate_events(run.run_turn(PROMPT, output_schema=SUMMARY_SCHEMA))

    assert not completed(events, "agent_message")
    assert events[-1] == {
        "type": "turn.failed",
        "error": {
            "message": "the model's answer does not match the output schema "
            "(stopped by the token limit): 'summary' is a required property"
        },
    }


def test_a_small_model_may_choose_tools_for_a_plain_request(repo: Path, call: Calls) -> None:
    events, model = run_script(
        repo,
        [tools(call("read_file", path="notes.txt")), answer("It says hello.")],
        traits=SMALL,
    )

    assert final_answer(events) == "It says hello."
    assert model.requests[0].tool_choice == "auto"


def test_a_strong_model_gets_the_playbook_as_a_head_start(repo: Path) -> None:
    model = FakeScriptedModel([answer("A greeting library.")])
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = turn(run, "Analyze this codebase")

    assert len(completed(events, "mcp_tool_call")) == 4
    (request,) = model.requests
    assert request.tool_choice == "auto"
    assert sum(m["role"] == "tool" for m in request.messages) == 4
    text = final_answer(events)
    assert text.startswith("A greeting library.\n\nFigures measured by Ainos.AnalyzeCodebase:")
    assert "- TODO markers: 1 (TODO 1)" in text


# -- resume -------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(tmp_path / "state" / "conversations.sqlite3") as opened:
        yield opened


def test_a_resumed_thread_replays_its_history_and_counts_on(
    repo: Path, store: ConversationStore, call: Calls
) -> None:
    listing = call("list_dir", path="pkg")
    first_model = FakeScriptedModel([tools(listing), answer("There is greet.py.")])
    first = session(repo, first_model, store=store)
    first_events = turn(first, "What is in the package?")

    thread = store.get(first.thread.id)
    assert (thread.turns, thread.state, thread.title) == (1, "idle", "What is in the package?")
    stored = store.events(thread.id)
    assert [e.data for e in stored] == first_events
    assert {e.turn for e in stored} == {1}

    model = FakeScriptedModel([answer("It greets people.")])
    resumed = start_session(
        model,
        config(),
        repo,
        approver=RecordingApprover(),
        store=store,
        resume=store.get(thread.id[:8]),
        tools=ToolBox(builtin_tools()),
    )
    assert resumed.resumed
    assert resumed.thread.id == thread.id
    events = turn(resumed, "And what does it do?")

    replayed = model.requests[0].messages[1:]
    assert replayed == [
        {"role": "user", "content": "What is in the package?"},
        {"role": "assistant", "content": "", "tool_calls": [listing.openai()]},
        {
            "role": "tool",
            "tool_call_id": listing.call_id,
            "content": tool_messages(first_model.requests[1])[listing.call_id],
        },
        {"role": "assistant", "content": "There is greet.py."},
        {"role": "user", "content": "And what does it do?"},
    ]
    assert final_answer(events) == "It greets people."
    assert store.get(thread.id).turns == 2
    assert [e.turn for e in store.events(thread.id)][-len(events) :] == [2] * len(events)
    messages = store.messages(thread.id)
    assert messages[-2:] == [
        {"role": "user", "content": "And what does it do?"},
        {"role": "assistant", "content": "It greets people."},
    ]


def test_a_dangling_tool_call_is_repaired_on_resume(repo: Path, store: ConversationStore) -> None:
    first = session(repo, FakeScriptedModel([answer("Hi.")]), store=store)
    turn(first, "Hello")
    # A process killed between a model's call and its result leaves this behind.
    dangling = ToolCall("call_lost", "shell", {"command": ["make"]})
    store.append_message(
        first.thread.id, 1, {"role": "assistant", "content": "", "tool_calls": [dangling.openai()]}
    )

    model = FakeScriptedModel([answer("Carrying on.")])
    resumed = start_session(
        model,
        config(),
        repo,
        store=store,
        resume=store.get(first.thread.id),
        tools=ToolBox(builtin_tools()),
    )
    events = turn(resumed, "Go on")

    messages = model.requests[0].messages
    calls = [m for m in messages if m.get("tool_calls")]
    assert [c["tool_calls"][0]["id"] for c in calls] == ["call_lost"]
    position = messages.index(calls[0])
    assert messages[position + 1] == {
        "role": "tool",
        "tool_call_id": "call_lost",
        "content": INTERRUPTED_TOOL_RESULT,
    }
    assert messages[-1] == {"role": "user", "content": "Go on"}
    assert final_answer(events) == "Carrying on."


# -- the schema ---------------------------------------------------------------------------------


def test_the_schema_rejects_what_codex_readers_would_not_read(repo: Path, call: Calls) -> None:
    events, _ = run_script(repo, [tools(call("list_dir", path=".")), answer("ok")])
    item = events[3]

    bad: list[dict[str, Any]] = [
        {**item, "item": {**item["item"], "status": "done"}},
        {**item, "item": {**item["item"], "id": "1"}},
        {**item, "item": {**item["item"], "extra": 1}},
        {**item, "item": {k: v for k, v in item["item"].items() if k != "result"}},
        {"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}},
        {"type": "turn.failed", "error": "boom"},
        {"type": "thread.started"},
        {"type": "turn.begun"},
    ]
    for event in bad:
        with pytest.raises(AssertionError, match="does not match the schema"):
            validate_events([event])
    with pytest.raises(AssertionError, match="after it completed"):
        validate_events([item, item])


def test_every_event_type_round_trips_through_the_schema() -> None:
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
        ItemUpdated,
        McpToolCallItem,
        ReasoningItem,
        ThreadStarted,
        TodoEntry,
        TodoListItem,
        TurnCompleted,
        TurnFailed,
        TurnStarted,
        UserMessage,
    )

    command = CommandExecutionItem(id="item_0", command="ls")
    stream: list[AgentEvent] = [
        ThreadStarted(thread_id="t-1"),
        UserMessage(text="hi"),
        TurnStarted(),
        ItemStarted(item=command),
        ItemUpdated(item=command.model_copy(update={"aggregated_output": "a"})),
        ItemCompleted(
            item=command.model_copy(update={"exit_code": 0, "status": ItemStatus.COMPLETED})
        ),
        ItemCompleted(item=ReasoningItem(id="item_1", text="thinking")),
        ItemCompleted(
            item=FileChangeItem(
                id="item_2",
                changes=[FileUpdateChange(path="a", kind="add")],
                status=ItemStatus.DECLINED,
            )
        ),
        ItemCompleted(
            item=McpToolCallItem(
                id="item_3",
                server="s",
                tool="t",
                error={"message": "no"},
                status=ItemStatus.FAILED,
            )
        ),
        ItemCompleted(item=TodoListItem(id="item_4", items=[TodoEntry(text="x", completed=False)])),
        ItemCompleted(item=ErrorItem(id="item_5", message="stopped")),
        ItemCompleted(item=AgentMessageItem(id="item_6", text="done")),
        TurnCompleted(usage=Usage()),
        TurnFailed.of("boom"),
        ErrorEvent(message="fatal"),
    ]
    dicts = validate_events(stream)
    assert [json.loads(e.to_json()) for e in stream] == dicts


def test_a_small_model_asked_about_a_file_answers_with_its_outline(repo: Path) -> None:
    model = FakeScriptedModel([answer("The xdg caches are built into xdg-xdg.")], traits=SMALL)
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = turn(run, "What does pkg/greet.py do?")

    calls = completed(events, "mcp_tool_call")
    assert [(i["tool"], i["arguments"]["path"]) for i in calls] == [("read_file", "pkg/greet.py")]
    # The model's made-up sentence is dropped; the file's measured outline is the answer.
    assert final_answer(events) == "pkg/greet.py: 7 lines\n- Defines: greet(), shout()"


def test_a_small_model_asked_to_search_answers_with_the_matches(repo: Path) -> None:
    model = FakeScriptedModel([answer("")], traits=SMALL)
    run = start_session(model, config(), repo, approver=RecordingApprover())

    events = turn(run, "Search for 'return greet'")

    assert final_answer(events) == (
        "Matches for /return greet/, 1 match in 1 file (first 1):\n"
        "- pkg/greet.py:7:     return greet(name).upper()"
    )
