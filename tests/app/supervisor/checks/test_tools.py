"""The checks as agent tools, run the way the agent runs them: ``FunctionTool.run`` with a
real ``ToolContext`` over a workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.app.supervisor.checks.conftest import WriteTree

from ainos.app.agent import ToolCall
from ainos.app.agent._approval import ApprovalGate, NoApprover
from ainos.app.agent._config import ApprovalPolicy
from ainos.app.agent.sandbox import SandboxMode, SandboxPolicy
from ainos.app.agent.tools import Tool, ToolContext, ToolOutcome
from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks import CHECK_TOOLS, check_tools
from ainos.protocol.agent import ItemStatus, McpToolCallItem

AWS_KEY_ID = "AKIA" + "Q3ZT7WX2M9KD4LPB"


def context_for(workspace: Path) -> ToolContext:
    gate = ApprovalGate(ApprovalPolicy.NEVER, NoApprover(), workspace)
    return ToolContext(workspace, SandboxPolicy(SandboxMode.READ_ONLY, workspace), gate)


def tool(check: str) -> Tool:
    return next(t for t in check_tools() if t.spec.name == CHECK_TOOLS[check])


def invoke(check: str, context: ToolContext, **arguments: Any) -> ToolOutcome:
    found = tool(check)
    call = ToolCall("call_1", found.spec.name, arguments)
    return found.run(call, found.start(call, "item_1"), context)


def structured(outcome: ToolOutcome) -> dict[str, Any]:
    assert isinstance(outcome.item, McpToolCallItem)
    assert outcome.item.status == ItemStatus.COMPLETED
    assert outcome.item.result is not None
    content = outcome.item.result["structured_content"]
    assert isinstance(content, dict)
    return content


@pytest.fixture
def workspace(write_tree: WriteTree) -> Path:
    return write_tree(
        {
            "src/app/settings.py": f'AWS_KEY = "{AWS_KEY_ID}"\n# TODO: load from the vault\n',
            "src/app/run.py": "import os\n\ndef start(cmd):\n    os.system(cmd)\n",
            "tests/test_run.py": "from app.run import start\n",
            "README.md": "Start the app with `start`.\n",
        }
    )


def test_check_secrets_returns_text_and_structured_findings(workspace: Path) -> None:
    outcome = invoke("secrets", context_for(workspace))
    assert outcome.ok
    assert outcome.output == (
        "check_secrets: 1 finding (1 critical)\n"
        "critical src/app/settings.py:1 AWS access key id: AKIA…[redacted]"
    )
    content = structured(outcome)
    assert content["check"] == "secrets"
    assert [Finding.from_dict(f) for f in content["findings"]] == [
        Finding(
            "secrets", "critical", "src/app/settings.py", 1, "AWS access key id: AKIA…[redacted]"
        )
    ]
    assert AWS_KEY_ID not in json.dumps(outcome.item.model_dump(mode="json"))


def test_paths_are_relative_to_the_workspace_when_a_subdirectory_is_checked(
    workspace: Path,
) -> None:
    outcome = invoke("todo", context_for(workspace), path="src/app")
    assert structured(outcome) == {
        "check": "todo",
        "findings": [
            Finding("todo", "low", "src/app/settings.py", 2, "TODO: load from the vault").to_dict()
        ],
    }


def test_each_check_runs_as_a_tool(workspace: Path) -> None:
    context = context_for(workspace)
    checks: dict[str, dict[str, Any]] = {
        "todo": {},
        "secrets": {"path": "."},
        "dangerous-calls": {},
        "untested": {},
        "complexity": {},
        "search": {"terms": ["start"]},
    }
    found = {}
    for check, arguments in checks.items():
        content = structured(invoke(check, context, **arguments))
        assert content["check"] == check
        found[check] = [(f["path"], f["line"]) for f in content["findings"]]
    assert found == {
        "todo": [("src/app/settings.py", 2)],
        "secrets": [("src/app/settings.py", 1)],
        "dangerous-calls": [("src/app/run.py", 4)],
        "untested": [],
        "complexity": [],
        "search": [("README.md", 1), ("src/app/run.py", 3), ("tests/test_run.py", 1)],
    }


def test_no_findings_says_how_many_files_were_looked_at(workspace: Path) -> None:
    outcome = invoke("complexity", context_for(workspace))
    assert outcome.output == "check_complexity: no findings in 3 files"


def test_a_path_outside_the_workspace_is_refused(workspace: Path) -> None:
    outcome = invoke("secrets", context_for(workspace), path="..")
    assert not outcome.ok
    assert "outside the workspace" in outcome.output
    assert isinstance(outcome.item, McpToolCallItem)
    assert outcome.item.status == ItemStatus.FAILED


def test_a_missing_directory_is_an_error_the_model_reads(workspace: Path) -> None:
    outcome = invoke("todo", context_for(workspace), path="no/such/dir")
    assert not outcome.ok
    assert "no such file or directory" in outcome.output


@pytest.mark.parametrize(
    "terms", [None, [], ["  "], ["a", "b", "c", "d", "e", "f"], {"not": "a list"}]
)
def test_check_search_needs_one_to_five_terms(workspace: Path, terms: object) -> None:
    arguments = {} if terms is None else {"terms": terms}
    outcome = invoke("search", context_for(workspace), **arguments)
    assert not outcome.ok
    assert "terms" in outcome.output


def test_check_search_takes_a_bare_term(workspace: Path) -> None:
    outcome = invoke("search", context_for(workspace), terms="vault")
    assert outcome.output == (
        "check_search: 1 finding (1 info)\n"
        "info src/app/settings.py:2 vault: # TODO: load from the vault"
    )


def test_the_tool_specs_describe_their_arguments() -> None:
    specs = {t.spec.name: t.spec for t in check_tools()}
    for name, spec in specs.items():
        assert spec.description
        assert spec.parameters["properties"]["path"]["type"] == "string"
        assert spec.parameters["required"] == (["terms"] if name == "check_search" else [])
    terms = specs["check_search"].parameters["properties"]["terms"]
    assert (terms["minItems"], terms["maxItems"]) == (1, 5)
