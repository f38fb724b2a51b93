"""The agent's tools, run for real: commands in the sandbox (bubblewrap here), patches on
real files, the plan, the file tools and the machine's AI actions — each call ending in a
completed Codex item and a text the model reads."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.actions import ActionRuntime
from ainos.app.agent._approval import ApprovalDecision, ApprovalGate, ApprovalRequest
from ainos.app.agent._config import ApprovalPolicy
from ainos.app.agent._model import ToolCall
from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy, check_sandbox
from ainos.app.agent.tools import (
    GREP,
    LIST_DIR,
    READ_FILE,
    ApplyPatchTool,
    ShellTool,
    Tool,
    ToolBox,
    ToolContext,
    ToolOutcome,
    action_tools,
    builtin_tools,
)
from ainos.protocol.agent import (
    CommandExecutionItem,
    FileChangeItem,
    FileUpdateChange,
    ItemStatus,
    McpToolCallItem,
    TodoEntry,
    TodoListItem,
)

UNTRUSTED = ApprovalPolicy.UNTRUSTED
ON_FAILURE = ApprovalPolicy.ON_FAILURE
ON_REQUEST = ApprovalPolicy.ON_REQUEST
NEVER = ApprovalPolicy.NEVER
APPROVED = ApprovalDecision.APPROVED
DENIED = ApprovalDecision.DENIED

needs_sandbox = pytest.mark.skipif(not check_sandbox().ok, reason="no sandbox mechanism works")


@dataclass
class Person:
    """Stands in for the person at the terminal: scripted answers, recorded questions."""

    answers: list[ApprovalDecision] = field(default_factory=list)
    asked: list[ApprovalRequest] = field(default_factory=list)

    def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        self.asked.append(request)
        assert self.answers, f"unexpected question: {request.describe()}"
        return self.answers.pop(0)


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # $TMPDIR is a writable root: keep it from widening what the tests expect.
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.delenv("AINOS_SANDBOX", raising=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    (path / "src").mkdir(parents=True)
    (path / "src" / "app.py").write_text("def main():\n    return 1  # TODO: more\n")
    (path / "README.md").write_text("# Demo\n\nA demo project.\n")
    return path


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the workspace and /tmp: outside every writable root."""
    path = Path(tempfile.mkdtemp(prefix="ainos-tools-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_context(
    workspace: Path,
    policy: ApprovalPolicy = ON_REQUEST,
    person: Person | None = None,
    mode: SandboxMode = SandboxMode.WORKSPACE_WRITE,
    **options: Any,
) -> ToolContext:
    gate = ApprovalGate(policy, person or Person(), workspace)
    return ToolContext(workspace, SandboxPolicy(mode, workspace), gate, **options)


def invoke(tool: Tool, context: ToolContext, **arguments: Any) -> ToolOutcome:
    call = ToolCall("call_1", tool.spec.name, arguments)
    started = tool.start(call, "item_1")
    assert started.id == "item_1"
    return tool.run(call, started, context)


def command_item(outcome: ToolOutcome) -> CommandExecutionItem:
    assert isinstance(outcome.item, CommandExecutionItem)
    return outcome.item


# -- shell ------------------------------------------------------------------------------------


@needs_sandbox
def test_a_command_runs_in_the_sandbox_and_completes(workspace: Path) -> None:
    context = make_context(workspace)

    outcome = invoke(ShellTool(), context, command=["sh", "-c", "echo hi > out.txt; cat out.txt"])

    item = command_item(outcome)
    assert outcome.ok
    assert (item.status, item.exit_code) == (ItemStatus.COMPLETED, 0)
    assert item.command == "sh -c 'echo hi > out.txt; cat out.txt'"
    assert item.aggregated_output == "hi\n"
    assert outcome.output == "exit code: 0\nhi\n"
    assert (workspace / "out.txt").read_text() == "hi\n"


@needs_sandbox
def test_a_failing_command_is_a_failed_item_not_an_error(workspace: Path) -> None:
    context = make_context(workspace)

    failed = invoke(ShellTool(), context, command=["sh", "-c", "echo oops >&2; exit 3"])
    missing = invoke(ShellTool(), context, command=["no-such-program-ainos"])

    assert not failed.ok
    assert (command_item(failed).status, command_item(failed).exit_code) == (ItemStatus.FAILED, 3)
    assert failed.output == "exit code: 3\noops\n"
    assert command_item(missing).exit_code == 127
    assert "command not found" in missing.output


@needs_sandbox
def test_workdir_is_relative_to_the_cwd_and_a_missing_one_is_an_error_result(
    workspace: Path,
) -> None:
    context = make_context(workspace)

    here = invoke(ShellTool(), context, command=["pwd"], workdir="src")
    nowhere = invoke(ShellTool(), context, command=["pwd"], workdir="no/such/dir")

    assert command_item(here).aggregated_output.strip() == str(workspace / "src")
    assert not nowhere.ok
    assert command_item(nowhere).status is ItemStatus.FAILED
    assert nowhere.output.startswith("error: ")
    assert "does not exist" in nowhere.output


def test_an_empty_command_is_declined(workspace: Path) -> None:
    outcome = invoke(ShellTool(), make_context(workspace), command=[])

    assert not outcome.ok
    assert command_item(outcome).status is ItemStatus.DECLINED


@needs_sandbox
def test_untrusted_runs_a_read_only_command_without_asking(workspace: Path) -> None:
    person = Person()

    outcome = invoke(ShellTool(), make_context(workspace, UNTRUSTED, person), command=["ls"])

    assert outcome.ok
    assert "README.md" in command_item(outcome).aggregated_output
    assert person.asked == []


@pytest.mark.parametrize(
    ("answer", "aborts"), [(DENIED, False), (ApprovalDecision.ABORT, True)], ids=["deny", "abort"]
)
def test_a_declined_command_is_not_run(
    workspace: Path, answer: ApprovalDecision, aborts: bool
) -> None:
    person = Person([answer])
    context = make_context(workspace, UNTRUSTED, person)

    outcome = invoke(ShellTool(), context, command=["touch", "made.txt"])

    item = command_item(outcome)
    assert item.status is ItemStatus.DECLINED
    assert item.exit_code is None
    assert item.aggregated_output == "not run: the user declined it"
    assert not (workspace / "made.txt").exists()
    assert [r.command for r in person.asked] == [("touch", "made.txt")]
    assert context.abort is aborts


@needs_sandbox
def test_an_approved_escalation_runs_outside_the_sandbox(workspace: Path) -> None:
    script = ["sh", "-c", "echo ${AINOS_SANDBOXED:-none}"]
    person = Person([APPROVED])
    context = make_context(workspace, ON_REQUEST, person)

    inside = invoke(ShellTool(), context, command=script)
    escalated = invoke(
        ShellTool(), context, command=script, escalate=True, justification="needs the network"
    )

    assert command_item(inside).aggregated_output.strip() not in ("", "none")
    assert command_item(escalated).aggregated_output == "none\n"
    assert person.asked[0].reason == "needs the network"


def test_never_refuses_an_escalation_without_asking(workspace: Path, outside: Path) -> None:
    person = Person()
    context = make_context(workspace, NEVER, person)

    outcome = invoke(ShellTool(), context, command=["touch", str(outside / "x")], escalate=True)

    assert command_item(outcome).status is ItemStatus.DECLINED
    assert "policy is never" in outcome.output
    assert not (outside / "x").exists()
    assert person.asked == []


@needs_sandbox
@pytest.mark.parametrize("mode", [SandboxMode.READ_ONLY, SandboxMode.WORKSPACE_WRITE])
def test_on_failure_asks_to_retry_a_sandbox_denial_outside(
    workspace: Path, mode: SandboxMode
) -> None:
    target = Path("/etc/ainos-agent-tools-test")
    assert not target.exists()
    person = Person([DENIED])
    context = make_context(workspace, ON_FAILURE, person, mode)

    outcome = invoke(ShellTool(), context, command=["touch", str(target)])

    item = command_item(outcome)
    assert (item.status, item.exit_code) == (ItemStatus.FAILED, 1)
    assert "Read-only file system" in item.aggregated_output
    assert not target.exists()  # the retry was declined: nothing ran outside
    [request] = person.asked
    assert request.command == ("touch", str(target))
    assert request.reason is not None
    assert "Read-only file system" in request.reason
    assert not context.abort


@needs_sandbox
def test_on_failure_runs_an_approved_retry_outside(workspace: Path, outside: Path) -> None:
    target = outside / "made.txt"
    person = Person([APPROVED])
    context = make_context(workspace, ON_FAILURE, person)

    outcome = invoke(ShellTool(), context, command=["touch", str(target)])

    assert outcome.ok
    assert command_item(outcome).status is ItemStatus.COMPLETED
    assert target.exists()
    assert len(person.asked) == 1


@needs_sandbox
def test_an_abort_at_the_retry_question_ends_the_turn(workspace: Path) -> None:
    context = make_context(workspace, ON_FAILURE, Person([ApprovalDecision.ABORT]))

    outcome = invoke(ShellTool(), context, command=["touch", "/etc/ainos-agent-tools-test"])

    assert not outcome.ok
    assert context.abort


@needs_sandbox
def test_the_model_given_timeout_kills_the_command(workspace: Path) -> None:
    context = make_context(workspace, shell_timeout_s=60)

    outcome = invoke(ShellTool(), context, command=["sleep", "30"], timeout_ms=300)

    item = command_item(outcome)
    assert (item.status, item.exit_code) == (ItemStatus.FAILED, None)
    assert "timed out" in outcome.output


@needs_sandbox
def test_output_is_capped_for_the_item_and_again_for_the_model(workspace: Path) -> None:
    context = make_context(workspace, output_cap=30_000)

    outcome = invoke(ShellTool(), context, command=["sh", "-c", "yes abcdefghij | head -n 20000"])

    item = command_item(outcome)
    assert item.status is ItemStatus.COMPLETED
    assert "bytes omitted" in item.aggregated_output
    assert len(item.aggregated_output) < 31_000
    assert item.aggregated_output.startswith("abcdefghij\n")
    assert "characters omitted" in outcome.output
    assert len(outcome.output) < 12_200


# -- apply_patch ------------------------------------------------------------------------------


def patch(*body: str) -> str:
    return "\n".join(["*** Begin Patch", *body, "*** End Patch"]) + "\n"


def file_item(outcome: ToolOutcome) -> FileChangeItem:
    assert isinstance(outcome.item, FileChangeItem)
    return outcome.item


UPDATE_APP = (
    "*** Update File: src/app.py",
    "@@",
    " def main():",
    "-    return 1  # TODO: more",
    "+    return 2",
)


def test_a_patch_inside_the_workspace_is_applied_without_a_question(workspace: Path) -> None:
    person = Person()
    text = patch("*** Add File: notes/new.txt", "+hello", *UPDATE_APP)

    outcome = invoke(ApplyPatchTool(), make_context(workspace, ON_REQUEST, person), input=text)

    item = file_item(outcome)
    assert outcome.ok
    assert item.status is ItemStatus.COMPLETED
    assert item.changes == [
        FileUpdateChange(path="notes/new.txt", kind="add"),
        FileUpdateChange(path="src/app.py", kind="update"),
    ]
    assert (workspace / "notes" / "new.txt").read_text() == "hello\n"
    assert (workspace / "src" / "app.py").read_text() == "def main():\n    return 2\n"
    assert outcome.output.startswith("applied:\n")
    assert person.asked == []


def test_a_patch_outside_the_writable_roots_asks(workspace: Path, outside: Path) -> None:
    person = Person([APPROVED])
    target = outside / "elsewhere.txt"

    outcome = invoke(
        ApplyPatchTool(),
        make_context(workspace, ON_REQUEST, person),
        input=patch(f"*** Add File: {target}", "+far away"),
    )

    assert outcome.ok
    assert target.read_text() == "far away\n"
    [request] = person.asked
    assert request.kind == "patch"
    assert request.changes == (FileUpdateChange(path=str(target), kind="add"),)
    assert "+far away" in request.diff


def test_a_patch_outside_the_writable_roots_is_refused_under_never(
    workspace: Path, outside: Path
) -> None:
    person = Person()
    target = outside / "elsewhere.txt"

    outcome = invoke(
        ApplyPatchTool(),
        make_context(workspace, NEVER, person),
        input=patch(f"*** Add File: {target}", "+far away"),
    )

    item = file_item(outcome)
    assert not outcome.ok
    assert item.status is ItemStatus.DECLINED
    assert item.changes == [FileUpdateChange(path=str(target), kind="add")]
    assert "policy is never" in outcome.output
    assert not target.exists()
    assert person.asked == []


def test_a_read_only_sandbox_makes_every_patch_a_question(workspace: Path) -> None:
    person = Person([DENIED])
    context = make_context(workspace, ON_REQUEST, person, SandboxMode.READ_ONLY)

    outcome = invoke(ApplyPatchTool(), context, input=patch(*UPDATE_APP))

    assert file_item(outcome).status is ItemStatus.DECLINED
    assert outcome.output == "patch not applied: the user declined the patch"
    assert "return 1" in (workspace / "src" / "app.py").read_text()
    assert len(person.asked) == 1


def test_a_failing_hunk_changes_nothing_and_fails_the_item(workspace: Path) -> None:
    before = (workspace / "src" / "app.py").read_text()
    text = patch(
        "*** Add File: added.txt",
        "+new",
        "*** Update File: src/app.py",
        "@@",
        "-    return 42",
        "+    return 43",
    )

    outcome = invoke(ApplyPatchTool(), make_context(workspace), input=text)

    item = file_item(outcome)
    assert not outcome.ok
    assert item.status is ItemStatus.FAILED
    assert outcome.output.startswith("patch rejected, nothing changed: ")
    assert "src/app.py" in outcome.output
    assert (workspace / "src" / "app.py").read_text() == before
    assert not (workspace / "added.txt").exists()


def test_a_malformed_patch_is_a_failed_item(workspace: Path) -> None:
    outcome = invoke(ApplyPatchTool(), make_context(workspace), input="not a patch")

    assert not outcome.ok
    assert file_item(outcome).status is ItemStatus.FAILED


# -- update_plan --------------------------------------------------------------------------------


def plan_tool() -> Tool:
    [tool] = [t for t in builtin_tools() if t.spec.name == "update_plan"]
    return tool


def test_update_plan_keeps_the_steps(workspace: Path) -> None:
    context = make_context(workspace)
    steps = [
        {"step": "read the code", "status": "completed"},
        {"step": "fix the bug", "status": "in_progress"},
        {"step": "run the tests", "status": "pending"},
    ]

    outcome = invoke(plan_tool(), context, plan=steps, explanation="three steps")

    assert outcome.ok
    expected = [
        TodoEntry(text="read the code", completed=True),
        TodoEntry(text="fix the bug", completed=False),
        TodoEntry(text="run the tests", completed=False),
    ]
    assert isinstance(outcome.item, TodoListItem)
    assert outcome.item.items == expected
    assert context.plan == expected


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}],
            "at most one step may be in_progress",
        ),
        ([{"step": "a", "status": "done"}], "unknown status 'done'"),
        ("read, then fix", "plan must be a list of {step, status}"),
        ([{"status": "pending"}], "plan must be a list of {step, status}"),
        ([{"step": " ", "status": "pending"}], "plan must be a list of {step, status}"),
    ],
)
def test_update_plan_refuses_a_bad_plan(workspace: Path, plan: object, message: str) -> None:
    context = make_context(workspace)
    context.plan.append(TodoEntry(text="kept", completed=False))

    outcome = invoke(plan_tool(), context, plan=plan)

    assert not outcome.ok
    assert outcome.output == message
    assert context.plan == [TodoEntry(text="kept", completed=False)]


# -- read_file, list_dir, grep ---------------------------------------------------------------


def mcp_item(outcome: ToolOutcome) -> McpToolCallItem:
    assert isinstance(outcome.item, McpToolCallItem)
    return outcome.item


def test_file_tools_take_paths_relative_to_the_cwd(workspace: Path) -> None:
    context = make_context(workspace)

    read = invoke(READ_FILE, context, path="src/app.py")
    listed = invoke(LIST_DIR, context, path=".")
    found = invoke(GREP, context, pattern="TODO", path="src")

    assert read.output.startswith("L1: def main():\nL2:     return 1  # TODO: more\n")
    assert "README.md" in listed.output
    assert "app.py" in listed.output
    assert "app.py:2:" in found.output
    item = mcp_item(read)
    assert (item.server, item.tool, item.status) == ("ainos", "read_file", ItemStatus.COMPLETED)
    assert item.arguments == {"path": "src/app.py"}
    assert item.result == {
        "content": [{"type": "text", "text": read.output}],
        "structured_content": None,
    }
    assert item.error is None


def test_a_file_tool_error_is_a_failed_item(workspace: Path) -> None:
    context = make_context(workspace)

    missing = invoke(READ_FILE, context, path="no/such.py")
    bad_regex = invoke(GREP, context, pattern="(unclosed")

    for outcome in (missing, bad_regex):
        item = mcp_item(outcome)
        assert not outcome.ok
        assert item.status is ItemStatus.FAILED
        assert item.result is None
        assert item.error is not None
        assert outcome.output == f"error: {item.error['message']}"
    assert "no such file" in missing.output


def test_a_long_result_is_capped_for_the_model_but_kept_whole_in_the_item(
    workspace: Path,
) -> None:
    (workspace / "long.txt").write_text("".join(f"{i:04d} " + "x" * 200 + "\n" for i in range(400)))

    outcome = invoke(READ_FILE, make_context(workspace), path="long.txt", limit=400)

    item = mcp_item(outcome)
    assert item.result is not None
    whole = item.result["content"][0]["text"]
    assert len(whole) > 80_000
    assert whole.endswith("(lines 1-400 of 400, to the end of the file)")
    assert len(outcome.output) < 12_200
    assert "characters omitted" in outcome.output
    assert outcome.output.startswith("L1: 0000 ")
    assert outcome.output.endswith("to the end of the file)")


# -- AI actions ---------------------------------------------------------------------------------


@pytest.fixture
def runtime() -> ActionRuntime:
    return ActionRuntime(directories=[], client_name="tests")


def test_every_available_action_is_a_tool_but_the_agent_itself(runtime: ActionRuntime) -> None:
    tools = {tool.spec.name: tool for tool in action_tools(runtime)}

    assert {"action_Ainos_CountWords", "action_Ainos_AnalyzeCodebase"} <= set(tools)
    assert "action_Ainos_Codex" not in tools
    assert "action_Ainos_Codex" in {t.spec.name for t in action_tools(runtime, frozenset())}

    count = tools["action_Ainos_CountWords"].spec
    assert count.description.startswith("AI action Ainos.CountWords: ")
    assert count.parameters["properties"] == {
        "Text": {"type": "string"},
        "Document": {"type": "string", "description": "path of a document"},
    }
    assert count.parameters["required"] == []
    analyze = tools["action_Ainos_AnalyzeCodebase"].spec
    assert analyze.parameters["required"] == ["Codebase"]
    assert analyze.parameters["additionalProperties"] is False


def action_tool(runtime: ActionRuntime, name: str) -> Tool:
    return ToolBox(action_tools(runtime)).get(name) or pytest.fail(f"no tool {name}")


def test_count_words_runs_for_real_and_ignores_an_unknown_input(
    runtime: ActionRuntime, workspace: Path
) -> None:
    tool = action_tool(runtime, "action_Ainos_CountWords")

    outcome = invoke(tool, make_context(workspace), Text="one two three", Colour="blue")

    item = mcp_item(outcome)
    assert outcome.ok
    assert (item.server, item.status) == ("actions", ItemStatus.COMPLETED)
    assert "| Words | 3 |" in outcome.output
    assert item.result is not None
    counts = item.result["structured_content"]["Counts"]
    assert counts["kind"] == "Table"
    assert counts["content"][counts["content"].index("Words") + 1] == "3"


def test_action_paths_are_relative_to_the_cwd(runtime: ActionRuntime, workspace: Path) -> None:
    tool = action_tool(runtime, "action_Ainos_CountWords")

    outcome = invoke(tool, make_context(workspace), Document="README.md")

    assert outcome.ok
    assert "in README.md" in outcome.output


def test_analyze_codebase_runs_for_real(runtime: ActionRuntime, workspace: Path) -> None:
    tool = action_tool(runtime, "action_Ainos_AnalyzeCodebase")

    outcome = invoke(tool, make_context(workspace), Codebase=".")

    item = mcp_item(outcome)
    assert outcome.ok
    assert "| Largest file | README.md (3 lines) |" in outcome.output
    assert "| TODO markers | 1 (TODO 1) |" in outcome.output
    assert item.result is not None
    assert set(item.result["structured_content"]) == {"Report", "Languages", "Summary"}


def test_a_bad_action_input_is_an_error_result(runtime: ActionRuntime, workspace: Path) -> None:
    analyze = action_tool(runtime, "action_Ainos_AnalyzeCodebase")
    count = action_tool(runtime, "action_Ainos_CountWords")
    context = make_context(workspace)

    bad_path = invoke(analyze, context, Codebase="no/such/dir")
    no_inputs = invoke(count, context)

    assert not bad_path.ok
    assert mcp_item(bad_path).status is ItemStatus.FAILED
    assert bad_path.output == "error: Codebase: no such file or directory: no/such/dir"
    assert not no_inputs.ok
    assert mcp_item(no_inputs).error is not None


def test_the_toolbox_finds_tools_by_name(runtime: ActionRuntime) -> None:
    box = ToolBox([*builtin_tools(), *action_tools(runtime)])

    assert box.names()[:6] == [
        "shell",
        "read_file",
        "list_dir",
        "grep",
        "apply_patch",
        "update_plan",
    ]
    assert [spec.name for spec in box.specs()] == box.names()
    assert box.get("grep") is GREP
    assert box.get("nope") is None
