"""Dangerous calls: Python read from its syntax tree, shell and JavaScript by a few patterns.

A finding in a test file is one step less severe: tests run code on purpose, with inputs
they chose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks._dangerous_python import MAY_HIT, python_hits
from ainos.app.supervisor.checks._files import (
    SourceFile,
    SourceTree,
    is_test_path,
    lower_severity,
    parse_python,
    sorted_findings,
)

__all__ = ["DANGEROUS_NAMES", "DANGEROUS_SUFFIXES", "dangerous_calls_in", "scan_dangerous_calls"]


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    severity: Severity
    message: str


def _rule(regex: str, severity: Severity, message: str) -> _Rule:
    return _Rule(re.compile(regex), severity, message)


_JS_SUFFIXES = frozenset(
    {".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".vue", ".svelte", ".html", ".htm"}
)
_SHELL_SUFFIXES = frozenset({".sh", ".bash", ".zsh"})
_PIPELINE_SUFFIXES = frozenset({".yml", ".yaml", ".mk"})  # CI files, make fragments
DANGEROUS_NAMES = frozenset({"Dockerfile", "Makefile", "GNUmakefile"})
DANGEROUS_SUFFIXES = frozenset({".py"}) | _JS_SUFFIXES | _SHELL_SUFFIXES | _PIPELINE_SUFFIXES

_CURL_PIPE_SH = _rule(
    r"\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b",
    "high",
    "pipes a download into a shell",
)
_JS_RULES = (
    _rule(r"(?<![\w.$])eval\s*\(", "high", "eval() runs a string as code"),
    _rule(r"\bnew\s+Function\s*\(", "high", "new Function() runs a string as code"),
    _rule(r"\.(?:inner|outer)HTML\s*\+?=(?!=)", "medium", "assigning innerHTML can inject script"),
    _rule(r"\bdocument\.write(?:ln)?\s*\(", "medium", "document.write() can inject script"),
)
_CHILD_PROCESS_EXEC = _rule(
    r"(?:\b(?:child_process|childProcess|cp)\.|(?<![\w.$]))exec(?:Sync)?\s*\(",
    "high",
    "child_process.exec() runs a command through the shell",
)
_SHELL_RULES = (
    _CURL_PIPE_SH,
    _rule(r"(?:^|[;&|(`]\s*|\s)eval\s", "medium", "eval runs a string as shell code"),
)
_JS_COMMENT = ("//", "/*", "*")


def _rules_for(file: SourceFile) -> tuple[tuple[_Rule, ...], tuple[str, ...]]:
    """The rules for a file, and the line openers that make a line a comment."""
    name = file.path.rsplit("/", 1)[-1]
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in _JS_SUFFIXES:
        if "child_process" in file.text:
            return (*_JS_RULES, _CHILD_PROCESS_EXEC), _JS_COMMENT
        return _JS_RULES, _JS_COMMENT
    if suffix in _SHELL_SUFFIXES:
        return _SHELL_RULES, ("#",)
    return (_CURL_PIPE_SH,), ("#",)  # Dockerfile, Makefile, CI pipelines


def _text_hits(file: SourceFile) -> Iterator[tuple[int, Severity, str]]:
    rules, comments = _rules_for(file)
    for number, line in enumerate(file.text.splitlines(), 1):
        if line.lstrip().startswith(comments):
            continue
        for rule in rules:
            if rule.regex.search(line):
                yield number, rule.severity, rule.message


def _hits(file: SourceFile) -> Iterator[tuple[int, Severity, str]]:
    if not file.path.endswith(".py"):
        yield from _text_hits(file)
        return
    module = parse_python(file) if MAY_HIT.search(file.text) else None
    if module is not None:
        for hit in python_hits(module):
            yield hit.line, hit.severity, hit.message


def _findings(file: SourceFile) -> Iterator[Finding]:
    in_test = is_test_path(file.path)
    for line, severity, message in _hits(file):
        shown = lower_severity(severity) if in_test else severity
        yield Finding("dangerous-calls", shown, file.path, line, message)


def dangerous_calls_in(tree: SourceTree) -> list[Finding]:
    return sorted_findings(finding for file in tree for finding in _findings(file))


def scan_dangerous_calls(root: Path) -> list[Finding]:
    """Dangerous calls under ``root``: in Python ``eval``/``exec``/``compile`` of non-literal
    input, shell commands, unsafe deserialisation, ``tempfile.mktemp``, weak hashes, TLS
    checks turned off, ``__import__`` of a non-literal; in JavaScript ``eval``, ``new
    Function``, ``child_process.exec``, ``innerHTML =``; in shell ``eval`` and ``curl … | sh``.
    One step less severe in test files."""
    return dangerous_calls_in(SourceTree(root, DANGEROUS_SUFFIXES, DANGEROUS_NAMES))
