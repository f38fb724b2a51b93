"""The checks as agent tools: ``check_todo``, ``check_secrets`` … each over a directory of
the workspace, answering with the findings as text and as structured content."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ainos.app.agent import ToolSpec
from ainos.app.agent.tools import FunctionTool, Tool, ToolContext
from ainos.app.agent.tools._base import walkable_path
from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks._complexity import complex_functions_in
from ainos.app.supervisor.checks._dangerous import (
    DANGEROUS_NAMES,
    DANGEROUS_SUFFIXES,
    dangerous_calls_in,
)
from ainos.app.supervisor.checks._files import PYTHON, SourceTree
from ainos.app.supervisor.checks._goal import MAX_TERMS
from ainos.app.supervisor.checks._names import CHECK_TOOLS
from ainos.app.supervisor.checks._report import render_findings
from ainos.app.supervisor.checks._search import search_in
from ainos.app.supervisor.checks._secrets import secrets_in
from ainos.app.supervisor.checks._todo import todos_in
from ainos.app.supervisor.checks._untested import untested_in
from ainos.errors import InvalidArgument

__all__ = ["check_tools"]

_Run = Callable[[Path, Mapping[str, Any]], tuple[list[Finding], int]]

_PATH = {
    "type": "string",
    "description": "a directory of the workspace, relative to it (default: the whole workspace)",
}
_DESCRIPTIONS = {
    "todo": "List TODO, FIXME, XXX and HACK comments.",
    "secrets": "Find hard-coded secrets (keys, tokens, passwords); values are masked.",
    "dangerous-calls": "Find dangerous calls: eval/exec, shell=True, os.system, pickle, "
    "yaml.load, verify=False, curl | sh, innerHTML.",
    "untested": "List public Python functions and classes that no test mentions.",
    "complexity": "List Python functions with high cyclomatic complexity or over 80 lines.",
    "search": "Find where terms occur (whole words, any case): path:line and the line.",
}


def _over(
    scan: Callable[[SourceTree], list[Finding]],
    suffixes: frozenset[str] | None = None,
    names: frozenset[str] = frozenset(),
) -> _Run:
    def run(root: Path, args: Mapping[str, Any]) -> tuple[list[Finding], int]:
        tree = SourceTree(root, suffixes, names)
        return scan(tree), tree.files

    return run


def _terms(args: Mapping[str, Any]) -> list[str]:
    given = args.get("terms")
    if isinstance(given, str):
        given = [given]  # one term given bare
    if not isinstance(given, list | tuple):
        raise InvalidArgument(f"terms: give a list of 1 to {MAX_TERMS} search terms")
    terms = [str(term).strip() for term in given if str(term).strip()]
    if not 1 <= len(terms) <= MAX_TERMS:
        raise InvalidArgument(f"terms: give 1 to {MAX_TERMS} search terms, not {len(terms)}")
    return terms


def _search(root: Path, args: Mapping[str, Any]) -> tuple[list[Finding], int]:
    terms = _terms(args)
    tree = SourceTree(root)
    return search_in(tree, terms), tree.files


_RUNS: dict[str, _Run] = {
    "todo": _over(todos_in),
    "secrets": _over(secrets_in),
    "dangerous-calls": _over(dangerous_calls_in, DANGEROUS_SUFFIXES, DANGEROUS_NAMES),
    "untested": _over(untested_in, PYTHON),
    "complexity": _over(complex_functions_in, PYTHON),
    "search": _search,
}


def _in_workspace(context: ToolContext, root: Path, findings: list[Finding]) -> list[Finding]:
    """Findings with paths relative to the workspace rather than to the walked directory."""
    base = root if root.is_dir() else root.parent
    prefix = base.resolve().relative_to(context.cwd.resolve()).as_posix()
    if prefix == ".":
        return findings
    return [
        replace(finding, path=f"{prefix}/{finding.path}" if finding.path else prefix)
        for finding in findings
    ]


def _tool(check: str, run: _Run) -> FunctionTool:
    name = CHECK_TOOLS[check]
    properties: dict[str, Any] = {"path": _PATH}
    required: list[str] = []
    if check == "search":
        properties["terms"] = {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": MAX_TERMS,
            "description": "words or identifiers to look for",
        }
        required.append("terms")

    def function(context: ToolContext, args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        root = walkable_path(context, args.get("path"))
        found, files = run(root, args)
        findings = _in_workspace(context, root, found)
        text = render_findings(name, findings, files)
        return text, {"findings": [finding.to_dict() for finding in findings], "check": check}

    spec = ToolSpec(
        name,
        _DESCRIPTIONS[check],
        {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    )
    return FunctionTool(spec, function)


def check_tools() -> list[Tool]:
    """One agent tool per check (the analysis is the machine's action tool, not here)."""
    return [_tool(check, run) for check, run in _RUNS.items()]
