"""Public Python functions and classes that no test mentions.

A definition counts when it is public (no leading underscore), at the top level of a
non-test module (also inside a top-level ``if``/``try``, never under ``if TYPE_CHECKING``);
methods are not counted (a test of the class reaches them, and common method names would
match any test anyway). It is tested when some test file has its name as a word. Imports
(such as an ``__init__.py``'s re-exports) are not definitions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from ainos.app.supervisor._records import Finding
from ainos.app.supervisor.checks._files import (
    PYTHON,
    SourceTree,
    is_test_path,
    parse_python,
    sorted_findings,
)

__all__ = ["NO_TESTS", "find_untested", "untested_in"]

NO_TESTS = "no tests found"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_SOURCE = frozenset({"setup.py", "noxfile.py"})  # build scripts, not the code under test
_DEFINITION = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level(
    body: list[ast.stmt],
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    for node in body:
        if isinstance(node, _DEFINITION):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            yield from _top_level(node.body)
            for handler in node.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(node.orelse)
            yield from _top_level(node.finalbody)


def _public(module: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, kind, name) of each public top-level definition, the first of each name."""
    seen: set[str] = set()
    for node in _top_level(module.body):
        if node.name.startswith("_") or node.name in seen:
            continue
        seen.add(node.name)
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        yield node.lineno, kind, node.name


def untested_in(tree: SourceTree) -> list[Finding]:
    mentioned: set[str] = set()
    definitions: list[tuple[str, int, str, str]] = []
    test_files = 0
    for file in tree:
        if is_test_path(file.path):
            test_files += 1
            mentioned.update(_WORD.findall(file.text))
        elif file.path.rsplit("/", 1)[-1] not in _NOT_SOURCE:
            module = parse_python(file)
            if module is not None:
                definitions.extend((file.path, *found) for found in _public(module))
    if not definitions:
        return []
    if not test_files:
        return [Finding("untested", "medium", "", 0, NO_TESTS)]
    return sorted_findings(
        Finding("untested", "low", path, line, _message(kind, name))
        for path, line, kind, name in definitions
        if name not in mentioned
    )


def _message(kind: str, name: str) -> str:
    shown = f"{name}()" if kind == "function" else name
    return f"public {kind} {shown} is not mentioned by any test"


def find_untested(root: Path) -> list[Finding]:
    """Public top-level functions and classes of the Python modules under ``root`` that no
    test file mentions by name (low); one finding (medium) when there are no tests at all."""
    return untested_in(SourceTree(root, PYTHON))
