"""Deterministic briefs of what a playbook read: a file's outline, a search's matches.

When a request names a file or asks for a search, the answer quotes these whatever the
model says: a file's size, docstring and top-level definitions (read with ``ast`` for
Python, its opening comment otherwise), a search's match count and first matches.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["file_brief", "search_brief"]

_DOC_CHARS = 300
_SHOWN_NAMES = 20
_SHOWN_MATCHES = 10
_COMMENT_MARKS = ("#", "//", "/*", "*", "--", ";", "<!--")


def _first_sentences(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _DOC_CHARS else flat[: _DOC_CHARS - 1].rstrip() + "…"


def _python_outline(source: str) -> tuple[str, list[str]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return "", []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(f"{node.name}()")
        elif isinstance(node, ast.ClassDef):
            names.append(f"class {node.name}")
    return ast.get_docstring(tree) or "", names


def _opening_comment(lines: list[str]) -> str:
    comment: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped and not comment:
            continue
        if not stripped.startswith(_COMMENT_MARKS):
            break
        comment.append(stripped.lstrip("#/*-;<!> ").strip())
    return " ".join(part for part in comment if part)


def file_brief(path: Path, shown: str) -> str:
    """What the file at ``path`` (named ``shown`` in the answer) is, measured; empty when it
    cannot be read as text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    lines = text.splitlines()
    out = [f"{shown}: {len(lines)} lines"]
    if path.suffix in (".py", ".pyi"):
        docstring, names = _python_outline(text)
    else:
        docstring, names = _opening_comment(lines), []
    if docstring:
        out.append(f"- Says of itself: {_first_sentences(docstring)}")
    if names:
        more = len(names) - _SHOWN_NAMES
        listed = ", ".join(names[:_SHOWN_NAMES]) + (f" and {more} more" if more > 0 else "")
        out.append(f"- Defines: {listed}")
    return "\n".join(out)


def search_brief(pattern: str, grep_output: str) -> str:
    """The count and first matches of a ``grep`` tool result, as the answer quotes them."""
    lines = grep_output.splitlines()
    hits = [line for line in lines if line.count(":") >= 2 and line.split(":", 2)[1].isdigit()]
    if not hits:
        return f"No match for /{pattern}/."
    total = next((line.strip("()") for line in lines if line.startswith("(")), "")
    shown = min(len(hits), _SHOWN_MATCHES)
    out = [f"Matches for /{pattern}/" + (f", {total}" if total else "") + f" (first {shown}):"]
    out += [f"- {line}" for line in hits[:_SHOWN_MATCHES]]
    return "\n".join(out)
