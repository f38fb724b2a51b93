"""The checks by name, and the agent tool each is called through."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["ANALYSIS_TOOL", "CHECK_NAMES", "CHECK_TOOLS", "CheckName"]

# The machine's AI action Ainos.AnalyzeCodebase as the agent sees it (the agent's playbook
# names it ANALYZE_ACTION_TOOL); not a check of this package, only mapped.
ANALYSIS_TOOL = "action_Ainos_AnalyzeCodebase"

# The one list of check names: agent definitions are checked against it too.
CheckName = Literal[
    "analysis", "todo", "secrets", "dangerous-calls", "untested", "complexity", "search"
]
CHECK_NAMES: tuple[str, ...] = get_args(CheckName)
CHECK_TOOLS: dict[str, str] = {
    "analysis": ANALYSIS_TOOL,
    **{name: "check_" + name.replace("-", "_") for name in CHECK_NAMES if name != "analysis"},
}
