"""Showing a supervisor report: GitHub Markdown for people, JSON for programs, a few lines
for a terminal.

Text that came from the run (messages, summaries' one-line fields, agent names) is escaped
where it could break the Markdown's structure: ``|`` in a table cell, emphasis and link
characters in a finding's line. An agent's summary is the model's prose and is shown as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ainos.app.supervisor._records import (
    SEVERITIES,
    MergedFinding,
    SubAgentResult,
    SupervisorReport,
)

__all__ = ["MAX_FINDING_LINES", "render_json", "render_markdown", "render_text_summary"]

MAX_FINDING_LINES = 100  # finding lines per section; the rest is counted ("… N more")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _inline(text: str) -> str:
    """Run text on one line, its Markdown punctuation escaped (shown literally)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _code(text: str) -> str:
    """``text`` as a code span (a path: ``__init__.py`` must not turn bold)."""
    text = _one_line(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _counts(results: Sequence[SubAgentResult]) -> str:
    parts = [f"{sum(r.status == 'completed' for r in results)} completed"]
    parts.append(f"{sum(r.status == 'failed' for r in results)} failed")
    stopped = sum(r.status == "stopped" for r in results)
    if stopped:
        parts.append(f"{stopped} stopped")
    return f"{len(results)} agent{'s' if len(results) != 1 else ''}: {', '.join(parts)}"


def _agents_table(results: Sequence[SubAgentResult]) -> list[str]:
    lines = [
        "| Agent | Status | Score | Findings | Seconds | Tokens in/out | First token |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        first_token = "—" if r.first_token_s is None else f"{r.first_token_s:.2f} s"
        cells = [
            _inline(r.agent),
            r.status,
            _percent(r.score),
            str(len(r.findings)),
            f"{r.seconds:.1f}",
            f"{r.input_tokens} / {r.output_tokens}",
            first_token,
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return lines


def _finding_line(merged: MergedFinding, *, with_votes: bool) -> str:
    f = merged.finding
    place = _code(f"{f.path}:{f.line}" if f.line else f.path)
    source = f"{_inline(f.check)}; agents: {_inline(', '.join(merged.agents))}"
    if with_votes:
        source += f"; {merged.votes} of {merged.voters} votes"
    return f"- {place} — {_inline(f.message)} ({source})"


def _findings_section(
    title: str, findings: Sequence[MergedFinding], *, with_votes: bool, empty: str
) -> list[str]:
    lines = [f"## {title}", ""]
    if not findings:
        return [*lines, empty, ""]
    shown = 0
    for severity in SEVERITIES:
        group = [m for m in findings if m.finding.severity == severity]
        if not group or shown >= MAX_FINDING_LINES:
            continue
        lines += [f"### {severity.capitalize()} ({len(group)})", ""]
        for merged in group[: MAX_FINDING_LINES - shown]:
            lines.append(_finding_line(merged, with_votes=with_votes))
            shown += 1
        lines.append("")
    if shown < len(findings):
        lines += [f"… {len(findings) - shown} more", ""]
    return lines


def _chosen(report: SupervisorReport) -> SubAgentResult | None:
    """The chosen agent's result (a completed one of that name)."""
    if report.chosen is None:
        return None
    candidates = (r for r in report.results if r.agent == report.chosen)
    return next((r for r in candidates if r.status == "completed"), None)


def _chosen_lines(report: SupervisorReport) -> list[str]:
    chosen = _chosen(report)
    if chosen is None:
        return ["No agent completed, so none was chosen.", ""]
    return [
        f"Chosen: **{_inline(chosen.agent)}**, the highest score among the completed agents "
        f"({_percent(chosen.score)}, {len(chosen.findings)} findings); the findings below are "
        "its own, the other agents' results follow.",
        "",
    ]


def _agent_section(result: SubAgentResult) -> list[str]:
    lines = [f"## {_inline(result.agent)}", ""]
    lines += [f"Status: {result.status}, score {_percent(result.score)}", ""]
    if result.task:
        lines += [f"Task: {_inline(result.task)}", ""]
    if result.error:
        lines += [f"**Error:** {_inline(result.error)}", ""]
    if result.summary.strip():
        lines += [result.summary.strip(), ""]
    if result.criteria:
        lines += ["Success criteria:", ""]
        for criterion in result.criteria:
            mark = "x" if criterion.met else " "
            evidence = f" — {_inline(criterion.evidence)}" if criterion.evidence else ""
            lines.append(f"- [{mark}] {_inline(criterion.text)}{evidence}")
        lines.append("")
    if result.artifacts:
        lines += ["Files written: " + ", ".join(_code(a) for a in result.artifacts), ""]
    return lines


def render_markdown(report: SupervisorReport) -> str:
    """The report as GitHub Markdown: overview, agents' table, findings, each agent's part."""
    lines = [f"# Supervisor report: {_inline(report.goal)}", ""]
    lines += [
        f"Strategy {report.strategy}, merge {report.merge}, {report.seconds:.1f} s wall time; "
        f"{_counts(report.results)}.",
        "",
    ]
    if report.results:
        lines += [*_agents_table(report.results), ""]
    if report.merge == "highest_score":
        lines += _chosen_lines(report)
    voting = report.merge == "voting"
    lines += _findings_section("Findings", report.findings, with_votes=voting, empty="None.")
    if voting:
        lines += _findings_section(
            "Disputed",
            report.disputed,
            with_votes=True,
            empty="None: every finding had a majority of the agents that ran its check.",
        )
    for result in report.results:
        lines += _agent_section(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_json(report: SupervisorReport) -> str:
    """The report as JSON (:meth:`SupervisorReport.to_dict`)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def _by_severity(findings: Sequence[MergedFinding]) -> str:
    counts = [(s, sum(m.finding.severity == s for m in findings)) for s in SEVERITIES]
    shown = ", ".join(f"{n} {s}" for s, n in counts if n)
    return f"{len(findings)} ({shown})" if shown else "0"


def render_text_summary(report: SupervisorReport) -> str:
    """A few plain lines for a terminal: the goal, the run, the findings, the agents."""
    lines = [
        f"Supervisor: {_one_line(report.goal)}",
        f"{report.strategy}, merge {report.merge}, {report.seconds:.1f} s; "
        f"{_counts(report.results)}",
    ]
    findings = f"Findings: {_by_severity(report.findings)}"
    if report.merge == "voting":
        findings += f"; disputed: {len(report.disputed)}"
    lines.append(findings)
    if report.merge == "highest_score":
        chosen = _chosen(report)
        lines.append(
            "Chosen: none (no agent completed)"
            if chosen is None
            else f"Chosen: {chosen.agent} (score {_percent(chosen.score)})"
        )
    agents = [
        f"{r.agent} {r.status}"
        + (f" {_percent(r.score)}" if r.status == "completed" else "")
        + (f" ({_one_line(r.error)})" if r.error and r.status != "completed" else "")
        for r in report.results
    ]
    lines.append("Agents: " + ("; ".join(agents) if agents else "none"))
    return "\n".join(lines)
