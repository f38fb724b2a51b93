from __future__ import annotations

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks._report import render_findings


def test_no_findings() -> None:
    assert render_findings("check_secrets", [], 12) == "check_secrets: no findings in 12 files"
    assert render_findings("check_todo", [], 1) == "check_todo: no findings in 1 file"


def test_a_header_with_the_counts_then_a_line_each() -> None:
    findings = [
        Finding("secrets", "critical", "a/.env", 2, "GitHub token: ghp_…[redacted]"),
        Finding("secrets", "high", "b.py", 7, "hard-coded secret assigned to X: ab…[redacted]"),
        Finding("untested", "medium", "", 0, "no tests found"),
    ]
    assert render_findings("check_x", findings, 5) == (
        "check_x: 3 findings (1 critical, 1 high, 1 medium)\n"
        "critical a/.env:2 GitHub token: ghp_…[redacted]\n"
        "high b.py:7 hard-coded secret assigned to X: ab…[redacted]\n"
        "medium . no tests found"
    )


def test_at_most_forty_lines_then_how_many_more() -> None:
    findings = [Finding("todo", "low", "a.py", n, "TODO") for n in range(1, 46)]
    lines = render_findings("check_todo", findings, 1).splitlines()
    assert lines[0] == "check_todo: 45 findings (45 low)"
    assert lines[1] == "low a.py:1 TODO"
    assert lines[40] == "low a.py:40 TODO"
    assert lines[41:] == ["… 5 more"]
