"""The agent's tools: what a model may call, how each call shows as an event item, and what
the model reads back.

Every tool turns one :class:`ToolCall` into an item (started, then completed) and a text
result. Failures a model can act on (a missing file, a failing hunk, a denied command) are
results, not exceptions: the model reads them and tries something else.
"""

from ainos.app.agent.tools._actions import action_tool_name, action_tools, render_outputs
from ainos.app.agent.tools._apply_patch import ApplyPatchTool
from ainos.app.agent.tools._base import (
    FunctionTool,
    Tool,
    ToolBox,
    ToolContext,
    ToolOutcome,
    cap_text,
)
from ainos.app.agent.tools._file_tools import GREP, LIST_DIR, READ_FILE
from ainos.app.agent.tools._mcp import McpTool, mcp_tool_name, mcp_tools
from ainos.app.agent.tools._plan import UpdatePlanTool
from ainos.app.agent.tools._shell import ShellTool

__all__ = [
    "GREP",
    "LIST_DIR",
    "READ_FILE",
    "ApplyPatchTool",
    "FunctionTool",
    "McpTool",
    "ShellTool",
    "Tool",
    "ToolBox",
    "ToolContext",
    "ToolOutcome",
    "UpdatePlanTool",
    "action_tool_name",
    "action_tools",
    "builtin_tools",
    "cap_text",
    "mcp_tool_name",
    "mcp_tools",
    "render_outputs",
]


def builtin_tools() -> list[Tool]:
    return [ShellTool(), READ_FILE, LIST_DIR, GREP, ApplyPatchTool(), UpdatePlanTool()]
