"""Merging the sub-agents' results into one report: concatenate, voting or highest_score.

Only completed sub-agents contribute findings; a failed or stopped one stays in the report's
results with its error. Two agents report the same finding when :meth:`Finding.key` is the
same (same check, path and line). A merged finding counts its ``votes`` (the completed
agents that reported it) and its ``voters`` (the completed agents that could have: those
whose ``checks`` include its check, and any that reported it anyway).

- ``concatenate``: every finding once, with all the agents that reported it.
- ``voting``: a finding is kept when a strict majority of its voters reported it
  (``votes > voters / 2``); an agent that never ran the check cannot vote against it. The
  others go to ``disputed``.
- ``highest_score``: the completed agent with the highest score is ``chosen`` (ties: more
  findings, then the earlier in the results); the findings are its own, with their votes
  across all agents.

The merged findings depend on the results only as a set, not on their order: the finding
that stands for a group is the worst (then the first by message) of the reported ones, and
its agents are listed by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ainos.app.supervisor._records import (
    SEVERITIES,
    Finding,
    MergedFinding,
    SubAgentResult,
    SupervisorReport,
)
from ainos.errors import InvalidArgument

__all__ = ["MERGE_STRATEGIES", "check_merge", "merge_results"]

MERGE_STRATEGIES = ("concatenate", "voting", "highest_score")


def check_merge(merge: str) -> None:
    """Refuse an unknown merge strategy, naming the choices."""
    if merge not in MERGE_STRATEGIES:
        raise InvalidArgument(
            f"unknown merge strategy {merge!r}: choose one of {', '.join(MERGE_STRATEGIES)}"
        )


@dataclass
class _Group:
    """The reports of one finding (one :meth:`Finding.key`) by the completed agents."""

    reports: list[tuple[str, Finding]] = field(default_factory=list)  # (agent, its finding)

    def merged(self, completed: Sequence[SubAgentResult], shown: Finding | None) -> MergedFinding:
        agents = sorted(agent for agent, _ in self.reports)
        finding = shown or min((f for _, f in self.reports), key=lambda f: (f.rank(), f.message))
        voters = sum(
            1 for r in completed if finding.check in r.checks or _reported(r, finding.key())
        )
        return MergedFinding(finding, tuple(agents), votes=len(agents), voters=voters)


def _reported(result: SubAgentResult, key: tuple[str, str, int]) -> bool:
    return any(f.key() == key for f in result.findings)


def _group(completed: Sequence[SubAgentResult]) -> dict[tuple[str, str, int], _Group]:
    """Each distinct finding with the agents that reported it (each agent counted once)."""
    groups: dict[tuple[str, str, int], _Group] = {}
    for result in completed:
        seen: set[tuple[str, str, int]] = set()
        for finding in sorted(result.findings, key=lambda f: (f.rank(), f.message)):
            if finding.key() in seen:
                continue
            seen.add(finding.key())
            groups.setdefault(finding.key(), _Group()).reports.append((result.agent, finding))
    return groups


def _order(findings: Iterable[MergedFinding]) -> list[MergedFinding]:
    """Worst first, then most votes, then by place (path, line), check and message."""
    return sorted(
        findings,
        key=lambda m: (
            SEVERITIES.index(m.finding.severity),
            -m.votes,
            m.finding.path,
            m.finding.line,
            m.finding.check,
            m.finding.message,
        ),
    )


def _choose(completed: Sequence[SubAgentResult]) -> SubAgentResult | None:
    """The highest score; ties go to more findings, then to the earlier result."""
    best: SubAgentResult | None = None
    for result in completed:
        if best is None or (result.score, len(result.findings)) > (best.score, len(best.findings)):
            best = result
    return best


def merge_results(
    goal: str,
    strategy: str,
    merge: str,
    results: Sequence[SubAgentResult],
    *,
    started_at: float,
    finished_at: float,
) -> SupervisorReport:
    """One report of the sub-agents' ``results``, merged by ``merge`` (see the module)."""
    check_merge(merge)
    report = SupervisorReport(
        goal=goal,
        strategy=strategy,
        merge=merge,
        results=list(results),
        started_at=started_at,
        finished_at=finished_at,
    )
    completed = [r for r in results if r.status == "completed"]
    groups = _group(completed)
    if merge == "highest_score":
        chosen = _choose(completed)
        if chosen is not None:
            report.chosen = chosen.agent
            own: dict[tuple[str, str, int], Finding] = {}
            for finding in sorted(chosen.findings, key=lambda f: (f.rank(), f.message)):
                own.setdefault(finding.key(), finding)
            report.findings = _order(groups[key].merged(completed, f) for key, f in own.items())
        return report
    merged = [group.merged(completed, None) for group in groups.values()]
    if merge == "voting":
        report.findings = _order(m for m in merged if 2 * m.votes > m.voters)
        report.disputed = _order(m for m in merged if 2 * m.votes <= m.voters)
    else:
        report.findings = _order(merged)
    return report
