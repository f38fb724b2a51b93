"""The playbook: the tool calls a request obviously needs, planned before the model runs, and
the figures block the answer quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ainos.ai.actions import ActionEntityFactory, ActionRuntime
from ainos.app.agent._approval import ApprovalGate, NoApprover
from ainos.app.agent._config import ApprovalPolicy
from ainos.app.agent._playbook import ANALYZE_ACTION_TOOL, facts_block, plan_playbook
from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy
from ainos.app.agent.tools import ToolBox, ToolContext, action_tools, builtin_tools

ALL_TOOLS = ["shell", "read_file", "list_dir", "grep", "apply_patch", ANALYZE_ACTION_TOOL]
TODO_PATTERN = r"\b(TODO|FIXME|XXX|HACK)\b"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    (path / "src" / "pkg").mkdir(parents=True)
    (path / "src" / "pkg" / "core.py").write_text(
        "def load_config():\n    return {}  # TODO: read the file\n"
    )
    (path / "src" / "pkg" / "cli.py").write_text("from pkg.core import load_config\n")
    (path / "README.md").write_text("# Demo\n\nA small demo.\n")
    return path


def calls_of(prompt: str, cwd: Path, tools: list[str] = ALL_TOOLS) -> list[tuple[str, Any]]:
    return [(call.name, dict(call.arguments)) for call in plan_playbook(prompt, cwd, tools).calls]


# -- intents ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        "Analyze this codebase",
        "give me an overview of the repository",
        "What's this project about?",
        "Walk me through the code",
    ],
)
def test_an_analysis_request_plans_the_analysis_a_listing_the_readme_and_todos(
    project: Path, prompt: str
) -> None:
    playbook = plan_playbook(prompt, project, ALL_TOOLS)

    assert playbook.intent == "analysis"
    assert "codebase" in playbook.explain
    assert [(c.name, dict(c.arguments)) for c in playbook.calls] == [
        (ANALYZE_ACTION_TOOL, {"Codebase": "."}),
        ("list_dir", {"path": ".", "depth": 2}),
        ("read_file", {"path": "README.md", "limit": 40}),
        ("grep", {"pattern": TODO_PATTERN}),
    ]
    assert len({c.call_id for c in playbook.calls}) == 4
    assert all(c.call_id.startswith("call_") for c in playbook.calls)


def test_the_analysis_uses_only_the_tools_that_exist(project: Path) -> None:
    (project / "README.md").unlink()
    (project / "README.rst").write_text("Demo\n====\n")

    assert calls_of("analyse the codebase", project, ["read_file", "grep"]) == [
        ("read_file", {"path": "README.rst", "limit": 40}),
        ("grep", {"pattern": TODO_PATTERN}),
    ]
    (project / "README.rst").unlink()
    assert calls_of("analyse the codebase", project, ["read_file", "list_dir"]) == [
        ("list_dir", {"path": ".", "depth": 2})
    ]


def test_files_the_prompt_mentions_are_read(project: Path) -> None:
    playbook = plan_playbook(
        "What does src/pkg/core.py do, and how does ./src/pkg/cli.py use it?", project, ALL_TOOLS
    )

    assert playbook.intent == "files"
    assert playbook.mentioned == ("src/pkg/core.py", "src/pkg/cli.py")
    assert [(c.name, dict(c.arguments)) for c in playbook.calls] == [
        ("read_file", {"path": "src/pkg/core.py", "limit": 200}),
        ("read_file", {"path": "src/pkg/cli.py", "limit": 200}),
    ]


def test_a_mentioned_file_wins_over_analysis_and_missing_files_are_not_read(
    project: Path,
) -> None:
    assert calls_of("Explain the code in README.md.", project) == [
        ("read_file", {"path": "README.md", "limit": 200})
    ]
    assert plan_playbook("Explain src/pkg/missing.py", project, ALL_TOOLS).calls == ()


def test_at_most_three_files_are_read(project: Path) -> None:
    for name in ("a.py", "b.py", "c.py", "d.py"):
        (project / name).write_text("x = 1\n")

    calls = calls_of("compare a.py, b.py, c.py and d.py", project)

    assert [args["path"] for _, args in calls] == ["a.py", "b.py", "c.py"]


@pytest.mark.parametrize("prompt", ["Are there any TODOs left?", "list the FIXME markers"])
def test_a_todo_question_greps_for_markers(project: Path, prompt: str) -> None:
    playbook = plan_playbook(prompt, project, ALL_TOOLS)

    assert playbook.intent == "search"
    assert [(c.name, dict(c.arguments)) for c in playbook.calls] == [
        ("grep", {"pattern": TODO_PATTERN})
    ]


@pytest.mark.parametrize(
    ("prompt", "pattern"),
    [
        ('Where is "load_config" defined?', "load_config"),
        ("find usages of `pkg.core`", r"pkg\.core"),
        ("Let's search for 'load_config' in the sources", "load_config"),
    ],
)
def test_a_quoted_term_to_find_is_grepped(project: Path, prompt: str, pattern: str) -> None:
    playbook = plan_playbook(prompt, project, ALL_TOOLS)

    assert playbook.intent == "search"
    assert [(c.name, dict(c.arguments)) for c in playbook.calls] == [("grep", {"pattern": pattern})]


@pytest.mark.parametrize(
    "prompt",
    [
        "Fix the failing test",
        'rename "load_config" to "read_config"',  # quoted, but nothing to find
        "find the bug",  # nothing quoted to search for
    ],
)
def test_nothing_obvious_plans_nothing(project: Path, prompt: str) -> None:
    playbook = plan_playbook(prompt, project, ALL_TOOLS)

    assert not playbook
    assert playbook.intent == "none"


def test_without_the_tools_nothing_is_planned(project: Path) -> None:
    assert not plan_playbook("Analyze this codebase", project, ["shell"])
    assert not plan_playbook("What does src/pkg/core.py do?", project, ["shell"])


# -- the figures block ------------------------------------------------------------------------


def summary_table(rows: list[tuple[str, str]]) -> dict[str, Any]:
    return ActionEntityFactory().create_table_entity_from_rows(rows).to_dict()


def test_facts_come_from_the_summary_table() -> None:
    structured: dict[str, dict[str, Any]] = {
        ANALYZE_ACTION_TOOL: {
            "Summary": summary_table([("Figure", "Value"), ("Source files", "2"), ("Lines", "3")]),
            "Report": {"kind": "Text", "text": "ignored"},
        },
        "grep": {"ignored": True},
    }

    assert facts_block(structured) == (
        "Figures measured by Ainos.AnalyzeCodebase:\n- Source files: 2\n- Lines: 3"
    )


@pytest.mark.parametrize(
    "structured",
    [
        {},
        {"grep": {"x": 1}},
        {ANALYZE_ACTION_TOOL: {}},
        {ANALYZE_ACTION_TOOL: {"Summary": "not a table"}},
        {ANALYZE_ACTION_TOOL: {"Summary": summary_table([("Figure", "Value")])}},
    ],
)
def test_no_figures_no_block(structured: dict[str, Any]) -> None:
    assert facts_block(structured) == ""


def test_the_playbook_run_for_real_gives_the_figures(project: Path) -> None:
    """The planned calls through the real tools; the analysis's structured output feeds the
    figures block."""
    runtime = ActionRuntime(directories=[], client_name="tests")
    box = ToolBox([*builtin_tools(), *action_tools(runtime)])
    gate = ApprovalGate(ApprovalPolicy.NEVER, NoApprover(), project)
    context = ToolContext(project, SandboxPolicy(SandboxMode.READ_ONLY, project), gate)
    structured: dict[str, Any] = {}

    playbook = plan_playbook("analyze this codebase", project, box.names())
    for number, call in enumerate(playbook.calls, 1):
        tool = box.get(call.name)
        assert tool is not None
        outcome = tool.run(call, tool.start(call, f"item_{number}"), context)
        assert outcome.ok, outcome.output
        result = getattr(outcome.item, "result", None) or {}
        if result.get("structured_content"):
            structured[call.name] = result["structured_content"]
    facts = facts_block(structured)

    assert facts.startswith("Figures measured by Ainos.AnalyzeCodebase:\n")
    assert "- Source files: 3\n" in facts
    assert "- Largest file: README.md (3 lines)\n" in facts
    assert "- TODO markers: 1 (TODO 1)" in facts
