"""Planning: the agents named, read from the request, or chosen by a (scripted) model whose
reply is constrained to the agents there are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ainos.app.agent import ModelReply
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.supervisor import AgentCatalog, plan_tasks
from ainos.errors import InvalidArgument, NotFound


def names(request: str, **kwargs: object) -> list[str]:
    plan = plan_tasks(request, AgentCatalog(), **kwargs)  # type: ignore[arg-type]
    return [task.definition.name for task in plan.tasks]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Comprehensive code review", ["code-reviewer", "security-auditor", "test-writer"]),
        ("Review the code quality", ["code-reviewer"]),
        ("Any hard-coded secrets in here?", ["security-auditor"]),
        ("Which functions have no tests?", ["test-writer"]),
        ("Research how the scheduler works", ["researcher"]),
        ("Security audit and test coverage", ["security-auditor", "test-writer"]),
    ],
)
def test_rules_read_the_request(request_text: str, expected: list[str]) -> None:
    assert names(request_text) == expected


def test_named_agents_win_and_aliases_resolve() -> None:
    plan = plan_tasks("anything", AgentCatalog(), agents=["sec-audit", "test-gen", "sec-audit"])
    assert [t.definition.name for t in plan.tasks] == ["security-auditor", "test-writer"]
    assert plan.planned_by == "agents"
    assert plan.tasks[0].request == "anything"


def test_an_unknown_agent_is_named() -> None:
    with pytest.raises(NotFound, match="nobody"):
        plan_tasks("x", AgentCatalog(), agents=["nobody"])


def test_the_model_plans_what_no_rule_matches() -> None:
    model = FakeScriptedModel([ModelReply(text=json.dumps({"agents": ["researcher"]}))])
    plan = plan_tasks("Tell me something about it", AgentCatalog(), model=model)
    assert [t.definition.name for t in plan.tasks] == ["researcher"]
    assert plan.planned_by == "model"
    (request,) = model.requests
    schema = request.output_schema
    assert schema is not None
    assert set(schema["properties"]["agents"]["items"]["enum"]) >= {"researcher", "code-reviewer"}


def test_a_useless_model_reply_falls_back_to_the_reviewer() -> None:
    model = FakeScriptedModel([ModelReply(text="I would ask the researcher")])
    plan = plan_tasks("Tell me something about it", AgentCatalog(), model=model)
    assert [t.definition.name for t in plan.tasks] == ["code-reviewer"]
    assert plan.planned_by == "default"


def test_user_agents_are_found_by_name(ainos_home: Path) -> None:
    agents = ainos_home / "config" / "agents"
    agents.mkdir(parents=True)
    (agents / "docs.yaml").write_text("name: docs-checker\ngoal: Check the docs\n")
    assert names("Run the docs checker") == ["docs-checker"]


def test_an_empty_request_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="empty"):
        plan_tasks("  ", AgentCatalog())
