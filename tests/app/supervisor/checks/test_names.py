from __future__ import annotations

from ainos.app.agent._playbook import ANALYZE_ACTION_TOOL
from ainos.app.supervisor.checks import CHECK_NAMES, CHECK_TOOLS, check_tools


def test_every_check_has_a_tool_name() -> None:
    assert CHECK_NAMES == (
        "analysis",
        "todo",
        "secrets",
        "dangerous-calls",
        "untested",
        "complexity",
        "search",
    )
    assert CHECK_TOOLS == {
        "analysis": "action_Ainos_AnalyzeCodebase",
        "todo": "check_todo",
        "secrets": "check_secrets",
        "dangerous-calls": "check_dangerous_calls",
        "untested": "check_untested",
        "complexity": "check_complexity",
        "search": "check_search",
    }


def test_the_analysis_is_the_agents_action_tool() -> None:
    assert CHECK_TOOLS["analysis"] == ANALYZE_ACTION_TOOL


def test_check_tools_are_the_checks_but_the_analysis() -> None:
    names = [tool.spec.name for tool in check_tools()]
    assert names == [CHECK_TOOLS[name] for name in CHECK_NAMES if name != "analysis"]
