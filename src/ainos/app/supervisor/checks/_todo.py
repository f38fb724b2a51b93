"""TODO, FIXME, XXX and HACK markers in comments.

A marker counts only in a comment: in Python a ``#`` outside any string; elsewhere after a
comment opener of the file's language (``#``, ``//``, ``/*``, ``--``, ``<!--`` …) that
starts the line or follows a space. Markers are upper case, as people write them, so the
word "todo" in prose or code is not one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks._files import SourceFile, SourceTree, sorted_findings, trimmed

__all__ = ["find_todos", "todos_in"]

_MARKER = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
# Python strings (a "#" inside one starts no comment) and comments, in one pass of the regex
# engine: many times faster than the tokenizer, and it does not stop at a syntax error.
_PYTHON_STRING_OR_COMMENT = re.compile(
    r"'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\""
    r"|(?P<comment>#[^\n]*)"
)
_SEVERITY: dict[str, Severity] = {
    "TODO": "low",
    "FIXME": "medium",
    "XXX": "medium",
    "HACK": "medium",
}
_PYTHON = (".py", ".pyi")
_HASH = r"#"
_C = r"//|/\*|\*"
_DASH = r"--"
_HTML = r"<!--"
_SEMICOLON = r";"
_OPENERS: dict[str, str] = {
    **dict.fromkeys(
        (".sh", ".bash", ".zsh", ".rb", ".pl", ".r", ".jl", ".ex", ".exs", ".yaml", ".yml",
         ".toml", ".cfg", ".conf", ".tf", ".cmake", ".mk", ".env", ".ps1", ".nim"),
        _HASH,
    ),
    **dict.fromkeys(
        (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rs", ".c", ".h", ".cc",
         ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".java", ".kt", ".kts", ".swift", ".scala",
         ".dart", ".css", ".scss", ".less", ".proto", ".zig", ".cu", ".m", ".groovy"),
        _C,
    ),
    ".php": f"{_C}|{_HASH}",
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm"), _DASH),
    **dict.fromkeys((".html", ".htm", ".xml", ".md", ".rst", ".svg"), _HTML),
    **dict.fromkeys((".vue", ".svelte"), f"{_C}|{_HTML}"),
    **dict.fromkeys((".ini", ".el", ".lisp", ".clj", ".asm", ".s"), f"{_SEMICOLON}|{_HASH}"),
    ".txt": "(?!)",  # prose: no comments
    ".json": "(?!)",
}  # fmt: skip
_BY_NAME = {"Makefile": _HASH, "Dockerfile": _HASH, "CMakeLists.txt": _HASH}
_ANY = f"{_HASH}|{_C}|{_DASH}|{_HTML}"  # a file of no known language
_CLOSERS = re.compile(r"\s*(?:\*/|-->)\s*$")
_REST = re.compile(r"(\([^)]{0,40}\))?[\s:,.-]*(.*)", re.S)  # "(owner): text" after a marker


def _comment_pattern(openers: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|(?<=\s))(?:{openers}).*?\b(TODO|FIXME|XXX|HACK)\b(.*)")


_PATTERNS = {openers: _comment_pattern(openers) for openers in {*_OPENERS.values(), _ANY}}


def _openers(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name in _BY_NAME:
        return _BY_NAME[name]
    suffix = name[name.rfind(".") :].lower() if "." in name.lstrip(".") else ""
    if not suffix and name.startswith(".env"):
        return _HASH
    return _OPENERS.get(suffix, _ANY)


def _finding(path: str, line: int, marker: str, rest: str) -> Finding:
    parts = _REST.match(_CLOSERS.sub("", rest))
    assert parts is not None  # every group of _REST may be empty
    label, text = marker + (parts.group(1) or ""), parts.group(2).strip()
    quoted = trimmed(f"{label}: {text}" if text else label)
    return Finding("todo", _SEVERITY[marker], path, line, quoted)


def _python_todos(file: SourceFile) -> Iterator[Finding]:
    line, counted = 1, 0  # the line at offset ``counted``
    for match in _PYTHON_STRING_OR_COMMENT.finditer(file.text):
        comment = match.group("comment")
        found = _MARKER.search(comment) if comment else None
        if comment and found:
            line += file.text.count("\n", counted, match.start())
            counted = match.start()
            yield _finding(file.path, line, found.group(1), comment[found.end() :])


def _text_todos(file: SourceFile) -> Iterator[Finding]:
    pattern = _PATTERNS[_openers(file.path)]
    for number, line in enumerate(file.text.splitlines(), 1):
        if _MARKER.search(line):
            found = pattern.search(line)
            if found:
                yield _finding(file.path, number, found.group(1), found.group(2))


def todos_in(tree: SourceTree) -> list[Finding]:
    findings: list[Finding] = []
    for file in tree:
        if not _MARKER.search(file.text):
            continue
        todos = _python_todos if file.path.endswith(_PYTHON) else _text_todos
        findings.extend(todos(file))
    return sorted_findings(findings)


def find_todos(root: Path) -> list[Finding]:
    """TODO (low), FIXME, XXX and HACK (medium) markers in comments under ``root``; each
    message quotes the marker and its text."""
    return todos_in(SourceTree(root))
