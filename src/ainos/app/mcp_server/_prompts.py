"""Prompts a client offers its user: a code review and a codebase analysis, each steering
the model to ainos's deterministic tools first (the analysis action, the coding agent)."""

from __future__ import annotations

from collections.abc import Mapping

import mcp_types as types
from mcp.shared.exceptions import MCPError

__all__ = ["PROMPTS", "get_prompt"]

INVALID_PARAMS = -32602

PROMPTS = [
    types.Prompt(
        name="code-review",
        title="Code review",
        description="Review the code of a directory or a change: correctness, security, "
        "tests, in order of severity.",
        arguments=[
            types.PromptArgument(
                name="path", description="The directory or file to review", required=True
            ),
            types.PromptArgument(
                name="focus",
                description="What to look at most (e.g. security, error handling)",
                required=False,
            ),
        ],
    ),
    types.Prompt(
        name="analyze-codebase",
        title="Codebase analysis",
        description="What a codebase is, how it is laid out, and what stands out.",
        arguments=[
            types.PromptArgument(
                name="path", description="The codebase's root directory", required=True
            ),
            types.PromptArgument(
                name="question", description="A question to answer about it", required=False
            ),
        ],
    ),
]


def _text(name: str, arguments: Mapping[str, str]) -> str:
    path = arguments["path"]
    if name == "code-review":
        focus = arguments.get("focus")
        lines = [
            f"Review the code in {path}.",
            "First measure it: call the Ainos.AnalyzeCodebase tool on it, and search it for "
            "TODO/FIXME markers, hard-coded secrets and dangerous calls (eval, exec, shell "
            "invocations built from strings).",
            "Then report findings in order of severity, each with its file and line, what is "
            "wrong and how to fix it.",
        ]
        if focus:
            lines.insert(1, f"Focus on: {focus}.")
        return "\n".join(lines)
    question = arguments.get("question") or "What is this codebase, and how is it laid out?"
    return (
        f"Analyze the codebase in {path}. Start with the Ainos.AnalyzeCodebase tool (languages,"
        " files, lines, largest files), then read its README. Answer from what the tools "
        f"report, not from guesses: {question}"
    )


def get_prompt(name: str, arguments: Mapping[str, str] | None) -> types.GetPromptResult:
    prompt = next((p for p in PROMPTS if p.name == name), None)
    if prompt is None:
        raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}")
    given = dict(arguments or {})
    for argument in prompt.arguments or []:
        if argument.required and not given.get(argument.name):
            raise MCPError(INVALID_PARAMS, f"prompt {name}: argument {argument.name} is required")
    return types.GetPromptResult(
        description=prompt.description,
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(text=_text(name, given)))
        ],
    )
