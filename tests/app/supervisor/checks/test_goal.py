from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ainos.app.supervisor.checks import goal_terms


@pytest.mark.parametrize(
    ("goal", "terms"),
    [
        ("Please do a comprehensive review of the codebase", []),
        ("Analyse the code and find security vulnerabilities", []),
        ("", []),
        ("Let's check the project's tests", []),
        (
            'Find where parse_config is used and review the "retry policy"',
            ["retry policy", "parse_config"],
        ),
        ("How does the scheduler handle GPU memory?", ["GPU", "scheduler", "memory"]),
        (
            "Explain ainos.kernel.scheduler and maskSecret",
            ["ainos.kernel.scheduler", "maskSecret"],
        ),
        ("Review \u201cmemory pool\u201d and \u2018lanes\u2019", ["memory pool", "lanes"]),
        (
            "audit the MCP registry: manifests, grants, audit log, relay, sandbox",
            ["MCP", "registry", "manifests", "grants", "log"],
        ),
        ("Scheduler scheduler SCHEDULER", ["SCHEDULER"]),
    ],
)
def test_goal_terms(goal: str, terms: list[str]) -> None:
    assert goal_terms(goal) == terms


@given(st.text())
def test_at_most_five_distinct_terms_from_the_goal(goal: str) -> None:
    terms = goal_terms(goal)
    assert len(terms) <= 5
    assert len({term.lower() for term in terms}) == len(terms)
    assert all(term and term.lower() in goal.lower() for term in terms)
