"""Deterministic first steps: the tool calls a request obviously needs, run before the model.

A tiny local model cannot be trusted to choose tools, but "analyze this codebase" plainly
needs the codebase analysis, a listing and a search for TODOs; "what does src/x.py do?"
needs that file. The playbook reads the request, plans those calls, and — once they ran —
turns their figures into a block the final answer quotes, so the answer is right even when
the model's prose is weak. A stronger model gets the same head start and does more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ainos.app.agent._model import ToolCall, new_call_id

__all__ = [
    "ANALYZE_ACTION_TOOL",
    "FactsOf",
    "Playbook",
    "digest",
    "facts_block",
    "plan_playbook",
    "readme_intro",
]

ANALYZE_ACTION_TOOL = "action_Ainos_AnalyzeCodebase"

_ANALYSIS_VERBS = re.compile(
    r"\b(analy[sz]\w*|overview|review|audit|summari[sz]\w*|describe|explain|explore|"
    r"understand|tell me about|what is|what's|walk me through|map)\b",
    re.I,
)
_ANALYSIS_OBJECTS = re.compile(
    r"\b(code ?base|repo(sitory)?|project|source( code)?|this (directory|folder|tree)|"
    r"the code|this code)\b",
    re.I,
)
# Questions the analysis answers by itself: sizes, languages, complexity.
_FIGURE_QUESTIONS = re.compile(
    r"\b((largest|biggest|longest|smallest|most complex)\b.*\b(file|module|files)\b|"
    r"\b(file|module)s?\b.*\b(largest|biggest|longest|smallest|most complex)\b|"
    r"how (many|much) (lines|files|code|todos?)|(which|what) (languages?|dependencies)|"
    r"lines of code)",
    re.I,
)
_TODO_WORDS = re.compile(r"\b(todo|todos|fixme|hack|xxx)\b", re.I)
# Quotes around a term, not an apostrophe inside a word ("Let's", "project's").
_QUOTED = re.compile(r"(?<!\w)[\"'`]([^\"'`\n]{2,80})[\"'`](?!\w)")
_SEARCH_VERBS = re.compile(r"\b(find|search|grep|where is|where are|look for|usages? of)\b", re.I)
_PATHLIKE = re.compile(r"[\w./-]*\w\.\w{1,8}\b|[\w.-]+/[\w./-]+")
_README_NAMES = ("README.md", "README.rst", "README.txt", "README")
_EXPLAIN_ANALYSIS = (
    "Using only the tool results above, explain in a few sentences what this codebase is, "
    "how it is organised, and what stands out (size, main language, largest file, TODOs). "
    "Quote figures exactly as the tools gave them."
)
_EXPLAIN_GENERIC = (
    "Using the tool results above, answer the request briefly. Quote what the tools found."
)


# What the answer quotes of a given playbook's results: (structured results by tool name,
# whole outputs by call id) -> the facts block.
FactsOf = Callable[[Mapping[str, Mapping[str, Any]], Mapping[str, str]], str]


@dataclass(frozen=True)
class Playbook:
    calls: tuple[ToolCall, ...] = ()
    intent: str = "none"  # analysis | files | search | given | none
    explain: str = _EXPLAIN_GENERIC  # the instruction that asks the model to explain
    mentioned: tuple[str, ...] = ()  # the files named in the request that exist
    # For a playbook given by the caller (intent "given"; a sub-agent's checks): its facts.
    facts: FactsOf | None = None

    def __bool__(self) -> bool:
        return bool(self.calls)


def _call(name: str, arguments: Mapping[str, Any]) -> ToolCall:
    return ToolCall(new_call_id(), name, dict(arguments))


def _mentioned_files(prompt: str, cwd: Path) -> list[str]:
    found: list[str] = []
    for match in _PATHLIKE.finditer(prompt):
        candidate = match.group(0).removeprefix("./")
        path = cwd / candidate
        if candidate not in found and path.is_file():
            found.append(candidate)
    return found[:3]


def plan_playbook(prompt: str, cwd: Path, tool_names: Sequence[str]) -> Playbook:
    """The deterministic calls for ``prompt`` in ``cwd``, among the tools that exist."""
    available = set(tool_names)
    calls: list[ToolCall] = []
    intent = "none"
    explain = _EXPLAIN_GENERIC
    files = _mentioned_files(prompt, cwd)
    overview = bool(_ANALYSIS_VERBS.search(prompt) and _ANALYSIS_OBJECTS.search(prompt))
    wants_analysis = overview or bool(_FIGURE_QUESTIONS.search(prompt))
    if wants_analysis and not files:
        intent = "analysis"
        explain = _EXPLAIN_ANALYSIS if overview else _EXPLAIN_GENERIC
        if ANALYZE_ACTION_TOOL in available:
            calls.append(_call(ANALYZE_ACTION_TOOL, {"Codebase": "."}))
        if "list_dir" in available:
            calls.append(_call("list_dir", {"path": ".", "depth": 2}))
        readme = next((n for n in _README_NAMES if (cwd / n).is_file()), None)
        if readme and "read_file" in available:
            calls.append(_call("read_file", {"path": readme, "limit": 40}))
        if "grep" in available:
            calls.append(_call("grep", {"pattern": r"\b(TODO|FIXME|XXX|HACK)\b"}))
    elif files and "read_file" in available:
        intent = "files"
        calls.extend(_call("read_file", {"path": f, "limit": 200}) for f in files)
    if intent == "none" and "grep" in available:
        quoted = _QUOTED.search(prompt)
        if _TODO_WORDS.search(prompt):
            intent = "search"
            calls.append(_call("grep", {"pattern": r"\b(TODO|FIXME|XXX|HACK)\b"}))
        elif quoted and _SEARCH_VERBS.search(prompt):
            intent = "search"
            term = re.escape(quoted.group(1)).replace("\\ ", " ")  # spaces need no escape
            calls.append(_call("grep", {"pattern": term}))
    return Playbook(tuple(calls), intent, explain, tuple(files))


def _table_rows(entity: Mapping[str, Any]) -> list[list[str]]:
    cells = [str(c) for c in entity.get("content") or []]
    width = int(entity.get("columnCount") or 0)
    return [cells[i : i + width] for i in range(0, len(cells), width)] if width else []


def facts_block(structured_results: Mapping[str, Mapping[str, Any]]) -> str:
    """The figures the final answer quotes, from the structured results of the playbook's
    calls (by tool name). Empty when no call measured anything quotable."""
    analysis = structured_results.get(ANALYZE_ACTION_TOOL)
    if not analysis:
        return ""
    summary = analysis.get("Summary")
    rows = _table_rows(summary) if isinstance(summary, Mapping) else []
    if len(rows) < 2:
        return ""
    lines = ["Figures measured by Ainos.AnalyzeCodebase:"]
    lines += [f"- {figure}: {value}" for figure, value in rows[1:]]
    return "\n".join(lines)


_LINE_NUMBER = re.compile(r"^L\d+: ?", re.M)
_DIGEST_FILE_CHARS = 3_000
_DIGEST_README_CHARS = 900


def _file_text(read_file_output: str) -> str:
    """The text of a ``read_file`` result without its line-number prefixes and footer."""
    body = "\n".join(line for line in read_file_output.splitlines() if line.startswith("L"))
    return _LINE_NUMBER.sub("", body)


def readme_intro(read_file_output: str) -> str:
    """The README's opening prose: its first paragraphs after the title, headings dropped."""
    paragraphs = [p.strip() for p in _file_text(read_file_output).split("\n\n")]
    prose = [p for p in paragraphs if p and not p.startswith(("#", "```", "|", "!["))]
    intro = " ".join(" ".join(prose[:2]).split())
    return intro[:_DIGEST_README_CHARS]


def digest(playbook: Playbook, outputs: Mapping[str, str], facts: str) -> str:
    """What a small model is shown to explain: the facts and the gist of what the playbook's
    calls returned (by call id), small enough not to drown a tiny model."""
    parts = [facts] if facts else []
    for call in playbook.calls:
        output = outputs.get(call.call_id, "")
        if not output:
            continue
        if call.name == "read_file" and playbook.intent == "analysis":
            intro = readme_intro(output)
            if intro:
                parts.append(f"From {call.arguments.get('path')}: {intro}")
        elif call.name == "read_file":
            text = _file_text(output)[:_DIGEST_FILE_CHARS]
            parts.append(f"{call.arguments.get('path')}:\n{text}")
        elif call.name == "grep" and playbook.intent == "search":
            parts.append(f"Search results:\n{output[:_DIGEST_FILE_CHARS]}")
    return "\n\n".join(parts)
