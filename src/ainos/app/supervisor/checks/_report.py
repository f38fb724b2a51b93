"""Findings as the text a model reads: a header with the counts, then one line each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ainos.app.supervisor._records import SEVERITIES, Finding

__all__ = ["MAX_LINES", "render_findings"]

MAX_LINES = 40


def _place(finding: Finding) -> str:
    path = finding.path or "."
    return f"{path}:{finding.line}" if finding.line else path


def render_findings(tool: str, findings: Sequence[Finding], files: int) -> str:
    """``check_secrets: 2 findings (1 critical, 1 high)`` and ``severity path:line message``
    lines, at most 40 then ``… N more``; ``check_secrets: no findings in N files``."""
    if not findings:
        return f"{tool}: no findings in {files} file{'' if files == 1 else 's'}"
    counts = Counter(finding.severity for finding in findings)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    noun = "finding" if len(findings) == 1 else "findings"
    lines = [f"{tool}: {len(findings)} {noun} ({by_severity})"]
    lines.extend(
        f"{finding.severity} {_place(finding)} {finding.message}"
        for finding in findings[:MAX_LINES]
    )
    if len(findings) > MAX_LINES:
        lines.append(f"… {len(findings) - MAX_LINES} more")
    return "\n".join(lines)
