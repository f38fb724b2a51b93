"""What to fix first, decided without a model: the worst finding, and what fixing it takes.

The checks rank their findings by severity; the remedy of each kind of finding is known
advice, not something a small model should be trusted to make up. The model then explains
the priority in its own words, next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ainos.app.supervisor._records import Finding

__all__ = ["REMEDIES", "fix_first"]

REMEDIES: dict[str, str] = {
    "secrets": "remove it from the code, rotate it, and read it from the environment or a "
    "secret store",
    "dangerous-calls": "replace it with a safe form (an argument list instead of a shell "
    "string, ast.literal_eval or a parser instead of eval, a safe loader) or prove that its "
    "input is trusted",
    "complexity": "split the function into smaller ones with one job each",
    "todo": "finish the work the marker describes, or track it as an issue",
    "untested": "write a test that calls it",
}


def fix_first(findings: Sequence[Finding]) -> str:
    """One line naming the finding to fix first (the worst; the first of those by place)
    and how; empty when nothing calls for a fix (no findings, or only informational ones)."""
    actionable = sorted((f for f in findings if f.severity != "info"), key=Finding.rank)
    if not actionable:
        return ""
    first = actionable[0]
    where = f"{first.path}:{first.line}" if first.line else first.path or "the project"
    remedy = REMEDIES.get(first.check)
    advice = f" To fix it, {remedy}." if remedy else ""
    return f"Fix first: {where} ({first.severity}) — {first.message}.{advice}"
