"""Rendering a supervisor report: GitHub Markdown, JSON and a terminal summary."""

from __future__ import annotations

import json

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ainos.app.supervisor._merge import merge_results
from ainos.app.supervisor._records import (
    CriterionResult,
    Finding,
    SubAgentResult,
    SupervisorReport,
)
from ainos.app.supervisor._render import (
    MAX_FINDING_LINES,
    render_json,
    render_markdown,
    render_text_summary,
)

SECRET = Finding("secrets", "critical", "app/__init__.py", 3, "hard-coded API key 'sk-****'")
EVAL = Finding("dangerous-calls", "high", "app/run.py", 10, "eval() of a | piped | value")
TODO = Finding("todo", "info", "app/run.py", 0, "TODO: handle *errors*")


def _results() -> list[SubAgentResult]:
    reviewer = SubAgentResult(
        agent="code-reviewer",
        task="review the code",
        status="completed",
        summary="The code evaluates user input.",
        findings=(EVAL, TODO),
        checks=("dangerous-calls", "todo"),
        criteria=(
            CriterionResult("List dangerous calls", True, "2/2 words; found: dangerous, calls"),
            CriterionResult("Suggest fixes", False, "0/2 words; missing: suggest, fixes"),
        ),
        score=0.5,
        started_at=100.0,
        finished_at=103.25,
        first_token_s=0.42,
        input_tokens=1200,
        output_tokens=80,
    )
    auditor = SubAgentResult(
        agent="security|auditor",
        task="audit",
        status="completed",
        summary="One secret.",
        findings=(SECRET, EVAL),
        checks=("secrets", "dangerous-calls"),
        score=1.0,
        started_at=100.0,
        finished_at=102.0,
    )
    writer = SubAgentResult(
        agent="test-writer",
        task="write tests",
        status="failed",
        findings=(TODO,),
        error="model not loaded",
        started_at=100.0,
        finished_at=100.5,
    )
    return [reviewer, auditor, writer]


def _report(merge: str, results: list[SubAgentResult] | None = None) -> SupervisorReport:
    results = _results() if results is None else results
    return merge_results(
        "Audit the shop", "parallel", merge, results, started_at=100.0, finished_at=104.0
    )


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each table as rows of cells' inline text, parsed by markdown-it (GitHub's tables)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables: list[list[list[str]]] = []
    row: list[str] = []
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and tables and _in_cell(tokens, token):
            row.append(token.content)
        elif token.type == "tr_close":
            tables[-1].append(row)
    return tables


def _in_cell(tokens: list[Token], token: Token) -> bool:
    before = tokens[tokens.index(token) - 1]
    return before.type in ("th_open", "td_open")


def test_markdown_has_title_overview_table_findings_and_agent_sections() -> None:
    markdown = render_markdown(_report("concatenate"))
    lines = markdown.splitlines()
    assert lines[0] == "# Supervisor report: Audit the shop"
    assert (
        "Strategy parallel, merge concatenate, 4.0 s wall time; 3 agents: 2 completed, 1 failed."
        in lines
    )
    [table] = _tables(markdown)
    assert table == [
        ["Agent", "Status", "Score", "Findings", "Seconds", "Tokens in/out", "First token"],
        ["code-reviewer", "completed", "50%", "2", "3.2", "1200 / 80", "0.42 s"],
        ["security|auditor", "completed", "100%", "2", "2.0", "0 / 0", "—"],  # \| kept whole
        ["test-writer", "failed", "0%", "1", "0.5", "0 / 0", "—"],
    ]
    findings = markdown.split("## Findings\n", 1)[1].split("\n## ", 1)[0]
    assert findings.splitlines() == [
        "",
        "### Critical (1)",
        "",
        "- `app/__init__.py:3` — hard-coded API key 'sk-\\*\\*\\*\\*' "
        "(secrets; agents: security\\|auditor)",
        "",
        "### High (1)",
        "",
        "- `app/run.py:10` — eval() of a \\| piped \\| value "
        "(dangerous-calls; agents: code-reviewer, security\\|auditor)",
        "",
        "### Info (1)",
        "",
        "- `app/run.py` — TODO: handle \\*errors\\* (todo; agents: code-reviewer)",
    ]
    assert "## Disputed" not in markdown
    assert "Chosen:" not in markdown


def test_markdown_shows_paths_and_messages_literally() -> None:
    html = MarkdownIt("commonmark").enable("table").render(render_markdown(_report("voting")))
    assert "<code>app/__init__.py:3</code> — hard-coded API key 'sk-****'" in html
    assert "eval() of a | piped | value" in html
    assert "TODO: handle *errors*" in html
    assert "<em>" not in html


def test_markdown_agent_sections_show_summary_criteria_and_error() -> None:
    markdown = render_markdown(_report("concatenate"))
    reviewer = markdown.split("## code-reviewer\n", 1)[1].split("\n## ", 1)[0]
    assert "The code evaluates user input." in reviewer
    assert "- [x] List dangerous calls — 2/2 words; found: dangerous, calls" in reviewer
    assert "- [ ] Suggest fixes — 0/2 words; missing: suggest, fixes" in reviewer
    writer = markdown.split("## test-writer\n", 1)[1]
    assert "Status: failed, score 0%" in writer
    assert "**Error:** model not loaded" in writer
    assert "## security\\|auditor" in markdown


def test_markdown_voting_has_a_disputed_section_with_votes() -> None:
    markdown = render_markdown(_report("voting"))
    findings = markdown.split("## Findings\n", 1)[1].split("## Disputed\n", 1)[0]
    disputed = markdown.split("## Disputed\n", 1)[1].split("\n## ", 1)[0]
    assert "(dangerous-calls; agents: code-reviewer, security\\|auditor; 2 of 2 votes)" in findings
    assert "(secrets; agents: security\\|auditor; 1 of 1 votes)" in findings
    assert "TODO" in findings  # only the reviewer (completed) ran the todo check
    assert "None: every finding had a majority" in disputed


def test_markdown_highest_score_says_who_was_chosen_and_why() -> None:
    report = _report("highest_score")
    assert report.chosen == "security|auditor"
    markdown = render_markdown(report)
    assert (
        "Chosen: **security\\|auditor**, the highest score among the completed agents "
        "(100%, 2 findings)" in markdown
    )
    assert "## code-reviewer" in markdown  # the others are still shown
    assert "TODO" not in markdown.split("## Findings\n", 1)[1].split("\n## ", 1)[0]


def test_markdown_without_completed_agents() -> None:
    failed = _results()[2]
    markdown = render_markdown(_report("highest_score", [failed]))
    assert "No agent completed, so none was chosen." in markdown
    assert "## Findings\n\nNone.\n" in markdown
    assert "1 agent: 0 completed, 1 failed." in markdown


def test_markdown_caps_the_findings_at_a_hundred_lines() -> None:
    many = tuple(
        Finding("todo", "low" if n % 2 else "high", "a.py", n, f"todo {n}") for n in range(1, 131)
    )
    result = SubAgentResult("r", "t", "completed", findings=many, checks=("todo",))
    markdown = render_markdown(_report("concatenate", [result]))
    findings = markdown.split("## Findings\n", 1)[1].split("\n## ", 1)[0]
    bullets = [line for line in findings.splitlines() if line.startswith("- ")]
    assert len(bullets) == MAX_FINDING_LINES
    assert "### High (65)" in findings
    assert "### Low (65)" in findings
    assert "… 30 more" in findings


def test_json_round_trips() -> None:
    for merge in ("concatenate", "voting", "highest_score"):
        report = _report(merge)
        text = render_json(report)
        again = SupervisorReport.from_dict(json.loads(text))
        assert again == report
        assert render_json(again) == text
    assert '"security|auditor"' in render_json(_report("concatenate"))
    assert "—" in render_json(_report("concatenate", [SubAgentResult("r", "—", "completed")]))


def test_text_summary() -> None:
    summary = render_text_summary(_report("voting")).splitlines()
    assert summary == [
        "Supervisor: Audit the shop",
        "parallel, merge voting, 4.0 s; 3 agents: 2 completed, 1 failed",
        "Findings: 3 (1 critical, 1 high, 1 info); disputed: 0",
        "Agents: code-reviewer completed 50%; security|auditor completed 100%; "
        "test-writer failed (model not loaded)",
    ]
    chosen = render_text_summary(_report("highest_score")).splitlines()
    assert "Chosen: security|auditor (score 100%)" in chosen
    assert 3 <= len(chosen) <= 6
