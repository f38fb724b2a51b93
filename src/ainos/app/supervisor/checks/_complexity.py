"""Python functions too complex or too long to follow.

Cyclomatic complexity is 1 plus the branches of the function's own body: each ``if``,
conditional expression, ``for``, ``while``, ``except`` clause, ``case`` (but a final
``case _``), comprehension ``if``, and each extra operand of ``and``/``or``. ``with`` is
not a branch. A nested function or class is measured on its own, not in its parent; a
lambda is part of the function that holds it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ainos.app.supervisor._records import Finding, Severity
from ainos.app.supervisor.checks._files import PYTHON, SourceTree, parse_python, sorted_findings

__all__ = [
    "COMPLEX",
    "LONG_LINES",
    "VERY_COMPLEX",
    "complex_functions_in",
    "find_complex_functions",
]

COMPLEX = 10  # above: medium
VERY_COMPLEX = 20  # above: high
LONG_LINES = 80  # above: low

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _one(_: Any) -> int:
    return 1


def _match_cases(node: ast.Match) -> int:
    last = node.cases[-1] if node.cases else None
    wildcard = (
        last is not None
        and isinstance(last.pattern, ast.MatchAs)
        and last.pattern.pattern is None
        and last.guard is None
    )
    return len(node.cases) - int(wildcard)


def _bool_operands(node: ast.BoolOp) -> int:
    return len(node.values) - 1


def _comprehension_ifs(node: ast.comprehension) -> int:
    return len(node.ifs)


# node type -> the branches it adds (looked up by exact type: one dict look-up per node)
_BRANCHES: dict[type[ast.AST], Callable[[Any], int]] = {
    ast.If: _one,
    ast.IfExp: _one,
    ast.For: _one,
    ast.AsyncFor: _one,
    ast.While: _one,
    ast.ExceptHandler: _one,
    ast.BoolOp: _bool_operands,
    ast.comprehension: _comprehension_ifs,
    ast.Match: _match_cases,
}


# Nodes with nothing below them that counts: not walked into (a third of a tree).
_LEAVES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Name,
        ast.Constant,
        ast.alias,
        ast.Pass,
        ast.Break,
        ast.Continue,
        ast.Global,
        ast.Nonlocal,
        *(
            kind
            for base in (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)
            for kind in base.__subclasses__()
        ),
    }
)


def _children(node: ast.AST) -> Iterator[ast.AST]:
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST) and type(item) not in _LEAVES:
                    yield item
        elif isinstance(value, ast.AST) and type(value) not in _LEAVES:
            yield value


@dataclass
class _Measured:
    name: str  # dotted: Class.method, outer.inner
    node: ast.FunctionDef | ast.AsyncFunctionDef
    complexity: int = 1


def _measure(module: ast.Module) -> list[_Measured]:
    """Every function and method of ``module`` with its complexity, in one walk: each node
    counts for the innermost function around it (the decorators and defaults of a function
    count for the one around it, where they run)."""
    measured: list[_Measured] = []
    pending: list[tuple[ast.AST, str, _Measured | None]] = [
        (node, "", None) for node in module.body
    ]
    while pending:
        node, prefix, owner = pending.pop()
        if isinstance(node, _FUNCTIONS):
            inner = _Measured(prefix + node.name, node)
            measured.append(inner)
            pending.extend((child, f"{inner.name}.", inner) for child in node.body)
            outer = [*node.decorator_list, node.args, *([node.returns] if node.returns else [])]
            pending.extend((child, prefix, owner) for child in outer)
            continue
        if isinstance(node, ast.ClassDef):
            prefix = f"{prefix}{node.name}."
        elif owner is not None:
            branches = _BRANCHES.get(type(node))
            if branches is not None:
                owner.complexity += branches(node)
        pending.extend((child, prefix, owner) for child in _children(node))
    return measured


def _finding(path: str, function: _Measured) -> Finding | None:
    node = function.node
    complexity = function.complexity
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    problems: list[str] = []
    severity: Severity = "low"
    if complexity > COMPLEX:
        limit = VERY_COMPLEX if complexity > VERY_COMPLEX else COMPLEX
        severity = "high" if complexity > VERY_COMPLEX else "medium"
        problems.append(f"has cyclomatic complexity {complexity} (over {limit})")
    if lines > LONG_LINES:
        problems.append(f"is {lines} lines long (over {LONG_LINES})")
    if not problems:
        return None
    message = f"function {function.name}() {' and '.join(problems)}"
    return Finding("complexity", severity, path, node.lineno, message)


def complex_functions_in(tree: SourceTree) -> list[Finding]:
    findings: list[Finding] = []
    for file in tree:
        module = parse_python(file)
        if module is None:
            continue
        for function in _measure(module):
            found = _finding(file.path, function)
            if found is not None:
                findings.append(found)
    return sorted_findings(findings)


def find_complex_functions(root: Path) -> list[Finding]:
    """Python functions under ``root`` with cyclomatic complexity over 10 (medium), over 20
    (high), or longer than 80 lines (low); each message gives the figures."""
    return complex_functions_in(SourceTree(root, PYTHON))
