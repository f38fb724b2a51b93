"""Merging sub-agents' results: concatenate, voting (quorum of the agents that looked) and
highest_score; failed agents are reported but never merged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ainos.app.supervisor._merge import MERGE_STRATEGIES, merge_results
from ainos.app.supervisor._records import (
    Finding,
    MergedFinding,
    SubAgentResult,
    SubAgentStatus,
)
from ainos.errors import InvalidArgument

SECRET = Finding("secrets", "critical", "app/config.py", 3, "hard-coded API key 'sk-****'")
EVAL = Finding("dangerous-calls", "high", "app/run.py", 10, "eval() of user input")
TODO = Finding("todo", "info", "app/run.py", 2, "TODO: handle errors")
UNTESTED = Finding("untested", "low", "app/config.py", 0, "public function load has no test")
SHELL = Finding("dangerous-calls", "high", "app/cli.py", 7, "subprocess with shell=True")


def agent(
    name: str,
    findings: tuple[Finding, ...] = (),
    checks: tuple[str, ...] = (),
    *,
    status: SubAgentStatus = "completed",
    score: float = 1.0,
    error: str | None = None,
) -> SubAgentResult:
    return SubAgentResult(
        agent=name,
        task=f"{name}'s task",
        status=status,
        findings=findings,
        checks=checks,
        score=score,
        error=error,
    )


def merge(merge: str, *results: SubAgentResult) -> list[MergedFinding]:
    return merge_results("g", "parallel", merge, results, started_at=0.0, finished_at=1.0).findings


def test_concatenate_deduplicates_and_orders_by_severity_then_votes() -> None:
    reviewer = agent("code-reviewer", (TODO, EVAL, SHELL), ("todo", "dangerous-calls"))
    auditor = agent("security-auditor", (SHELL, SECRET), ("secrets", "dangerous-calls"))
    report = merge_results(
        "audit",
        "parallel",
        "concatenate",
        [reviewer, auditor],
        started_at=100.0,
        finished_at=112.5,
    )
    assert report.findings == [
        MergedFinding(SECRET, ("security-auditor",), votes=1, voters=1),
        MergedFinding(SHELL, ("code-reviewer", "security-auditor"), votes=2, voters=2),
        MergedFinding(EVAL, ("code-reviewer",), votes=1, voters=2),
        MergedFinding(TODO, ("code-reviewer",), votes=1, voters=1),
    ]
    assert report.disputed == []
    assert report.chosen is None
    assert (report.goal, report.strategy, report.merge) == ("audit", "parallel", "concatenate")
    assert report.results == [reviewer, auditor]
    assert report.seconds == 12.5


def test_the_same_place_flagged_by_two_checks_is_two_findings() -> None:
    other = Finding("todo", "high", SHELL.path, SHELL.line, "TODO: remove shell=True")
    merged = merge("concatenate", agent("a", (SHELL, other), ("todo", "dangerous-calls")))
    assert [m.finding for m in merged] == [SHELL, other]  # same place: by check name


def test_an_agent_reporting_a_finding_twice_votes_once() -> None:
    again = Finding(EVAL.check, "medium", EVAL.path, EVAL.line, "eval again")
    merged = merge("concatenate", agent("a", (EVAL, again), ("dangerous-calls",)))
    assert merged == [MergedFinding(EVAL, ("a",), votes=1, voters=1)]  # the worse one stands


def test_agents_disagreeing_on_severity_show_the_worse() -> None:
    milder = Finding(EVAL.check, "low", EVAL.path, EVAL.line, "eval (probably fine)")
    merged = merge("concatenate", agent("a", (milder,), ("dangerous-calls",)), agent("b", (EVAL,)))
    assert merged == [MergedFinding(EVAL, ("a", "b"), votes=2, voters=2)]


def test_voting_keeps_a_strict_majority_of_the_agents_that_ran_the_check() -> None:
    checks = ("secrets", "dangerous-calls")
    a = agent("a", (SECRET, EVAL), checks)
    b = agent("b", (SECRET,), checks)
    c = agent("c", (SHELL,), checks)
    d = agent("d", (TODO,), ("todo",))  # never looked for secrets: cannot vote against
    report = merge_results("g", "parallel", "voting", [a, b, c, d], started_at=0, finished_at=1)
    assert report.findings == [
        MergedFinding(SECRET, ("a", "b"), votes=2, voters=3),
        MergedFinding(TODO, ("d",), votes=1, voters=1),
    ]
    assert report.disputed == [
        MergedFinding(SHELL, ("c",), votes=1, voters=3),
        MergedFinding(EVAL, ("a",), votes=1, voters=3),
    ]


def test_voting_half_is_not_a_majority() -> None:
    a = agent("a", (EVAL,), ("dangerous-calls",))
    b = agent("b", (), ("dangerous-calls",))
    report = merge_results("g", "parallel", "voting", [a, b], started_at=0, finished_at=1)
    assert report.findings == []
    assert report.disputed == [MergedFinding(EVAL, ("a",), votes=1, voters=2)]


def test_an_agent_that_reports_a_finding_counts_as_a_voter_even_without_the_check() -> None:
    merged = merge("voting", agent("a", (EVAL,), ()), agent("b", (), ("dangerous-calls",)))
    assert merged == []  # 1 of 2: a reported it (so it looked), b looked and did not


def test_failed_and_stopped_agents_are_reported_but_not_merged() -> None:
    ok = agent("a", (EVAL,), ("dangerous-calls",))
    failed = agent("b", (SECRET,), ("secrets", "dangerous-calls"), status="failed", error="boom")
    stopped = agent("c", (), ("dangerous-calls",), status="stopped", error="stopped by user")
    for strategy in MERGE_STRATEGIES:
        report = merge_results(
            "g", "parallel", strategy, [failed, ok, stopped], started_at=0, finished_at=1
        )
        assert report.findings == [MergedFinding(EVAL, ("a",), votes=1, voters=1)], strategy
        assert report.disputed == []
        assert report.results == [failed, ok, stopped]
    report = merge_results(
        "g", "parallel", "highest_score", [failed, ok], started_at=0, finished_at=1
    )
    assert report.chosen == "a"


@pytest.mark.parametrize("strategy", MERGE_STRATEGIES)
def test_zero_completed_agents_give_an_empty_report(strategy: str) -> None:
    failed = agent("a", (SECRET,), ("secrets",), status="failed", score=0.0, error="no model")
    report = merge_results("g", "sequential", strategy, [failed], started_at=0, finished_at=1)
    assert (report.findings, report.disputed, report.chosen) == ([], [], None)
    assert report.results == [failed]
    empty = merge_results("g", "sequential", strategy, [], started_at=0, finished_at=0)
    assert (empty.findings, empty.results, empty.chosen) == ([], [], None)


def test_highest_score_takes_the_best_agent_findings_with_votes_from_all() -> None:
    a = agent("a", (EVAL, SECRET), ("secrets", "dangerous-calls"), score=0.5)
    b = agent("b", (SECRET,), ("secrets",), score=1.0)
    c = agent("c", (EVAL, SHELL), ("dangerous-calls",), score=0.75)
    report = merge_results("g", "hybrid", "highest_score", [a, b, c], started_at=0, finished_at=1)
    assert report.chosen == "b"
    assert report.findings == [MergedFinding(SECRET, ("a", "b"), votes=2, voters=2)]
    assert report.results == [a, b, c]


def test_highest_score_ties_go_to_more_findings_then_to_the_earlier() -> None:
    checks = ("secrets", "dangerous-calls")
    few = agent("few", (SECRET,), checks, score=0.5)
    many = agent("many", (SECRET, EVAL), checks, score=0.5)
    also_many = agent("also-many", (SECRET, SHELL), checks, score=0.5)
    report = merge_results(
        "g", "parallel", "highest_score", [few, many, also_many], started_at=0, finished_at=1
    )
    assert report.chosen == "many"
    assert [m.finding for m in report.findings] == [SECRET, EVAL]
    assert report.findings[0].agents == ("also-many", "few", "many")
    report = merge_results(
        "g", "parallel", "highest_score", [also_many, many], started_at=0, finished_at=1
    )
    assert report.chosen == "also-many"


def test_highest_score_shows_the_chosen_agent_wording() -> None:
    reworded = Finding(EVAL.check, "low", EVAL.path, EVAL.line, "eval, but of a constant")
    best = agent("best", (reworded,), ("dangerous-calls",), score=1.0)
    other = agent("other", (EVAL,), ("dangerous-calls",), score=0.0)
    merged = merge("highest_score", other, best)
    assert merged == [MergedFinding(reworded, ("best", "other"), votes=2, voters=2)]


def test_an_unknown_merge_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidArgument, match="concatenate, voting, highest_score"):
        merge_results("g", "parallel", "majority", [], started_at=0, finished_at=1)


# Properties over generated results -------------------------------------------------------

_CHECKS = ("secrets", "dangerous-calls", "todo")
_findings = st.builds(
    Finding,
    check=st.sampled_from(_CHECKS),
    severity=st.sampled_from(("critical", "high", "medium", "low", "info")),
    path=st.sampled_from(("a.py", "b/c.py")),
    line=st.integers(0, 3),
    message=st.sampled_from(("x", "y")),
)
_results = st.builds(
    SubAgentResult,
    agent=st.sampled_from(("r1", "r2", "r3", "r4")),
    task=st.just("t"),
    status=st.sampled_from(("completed", "completed", "failed", "stopped")),
    findings=st.lists(_findings, max_size=5).map(tuple),
    checks=st.lists(st.sampled_from(_CHECKS), unique=True).map(tuple),
    score=st.sampled_from((0.0, 0.5, 1.0)),
)
_runs = st.lists(_results, max_size=5)
_named_runs = st.lists(_results, max_size=4, unique_by=lambda r: r.agent)  # chosen by name


@settings(max_examples=200, deadline=None)
@given(results=_runs, strategy=st.sampled_from(("concatenate", "voting")), data=st.data())
def test_merging_does_not_depend_on_the_order_of_results(
    results: list[SubAgentResult], strategy: str, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(results))
    first = merge_results("g", "parallel", strategy, results, started_at=0, finished_at=1)
    second = merge_results("g", "parallel", strategy, shuffled, started_at=0, finished_at=1)
    assert (first.findings, first.disputed) == (second.findings, second.disputed)


@settings(max_examples=200, deadline=None)
@given(results=_named_runs, strategy=st.sampled_from(MERGE_STRATEGIES))
def test_every_completed_finding_is_kept_or_disputed_and_nothing_else(
    results: list[SubAgentResult], strategy: str
) -> None:
    report = merge_results("g", "parallel", strategy, results, started_at=0, finished_at=1)
    merged = [*report.findings, *report.disputed]
    keys = [m.finding.key() for m in merged]
    assert len(keys) == len(set(keys))
    completed = [r for r in results if r.status == "completed"]
    if strategy == "highest_score":
        chosen = [r for r in completed if r.agent == report.chosen]
        assert bool(chosen) == bool(completed)
        expected = {f.key() for f in chosen[0].findings} if chosen else set()
    else:
        expected = {f.key() for r in completed for f in r.findings}
    assert set(keys) == expected
    for m in merged:
        reporters = [r for r in completed if m.finding.key() in {f.key() for f in r.findings}]
        assert m.votes == len(reporters) == len(m.agents) >= 1
        assert sorted(m.agents) == sorted(r.agent for r in reporters)
        assert m.votes <= m.voters <= len(completed)
        if strategy == "voting":
            assert (m in report.findings) == (2 * m.votes > m.voters)
