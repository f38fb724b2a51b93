"""The files a check reads: a bounded, sorted walk of the text files under a root.

Reuses the action layer's walker (it skips hidden, tool and dependency directories and
symlinks, keeps dotfiles such as ``.env``) and adds the bounds a check needs: at most
``MAX_FILES`` files looked at, none over ``MAX_FILE_BYTES``, no binary files. An unreadable
file is skipped, never an error; undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import ast
import stat
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ainos.ai.actions.builtin import is_binary, walk_files
from ainos.app.supervisor._records import SEVERITIES, Finding, Severity
from ainos.errors import InvalidArgument

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "PYTHON",
    "SourceFile",
    "SourceTree",
    "is_test_path",
    "lower_severity",
    "parse_python",
    "sorted_findings",
    "trimmed",
]

MAX_FILES = 20_000
MAX_FILE_BYTES = 1024 * 1024
_SNIFF = 8192
_PARSING = threading.Lock()
PYTHON = frozenset({".py"})
# Vendored code the action layer's walker does not prune: someone else's code.
_VENDORED_DIRS = frozenset({"vendor", "third_party", "site-packages", "bower_components"})
_TEST_DIRS = frozenset({"tests", "test", "__tests__"})
_JS_TEST_MARKERS = (".test.", ".spec.")


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the root, forward slashes
    text: str


class SourceTree:
    """The text files under ``root`` (or ``root`` itself, a file), in sorted order.

    ``suffixes`` keeps only files with those suffixes (lower case), and those ``names``.
    ``files`` counts the files read so far (the ones a check looked at). Iterating again
    walks again."""

    def __init__(
        self,
        root: Path,
        suffixes: frozenset[str] | None = None,
        names: frozenset[str] = frozenset(),
    ) -> None:
        if not root.exists():
            raise InvalidArgument(f"no such file or directory: {root}")
        self.root = root
        self.suffixes = suffixes
        self.names = names
        self.files = 0

    def _wanted(self, path: Path) -> bool:
        if self.suffixes is None:
            return True
        return path.suffix.lower() in self.suffixes or path.name in self.names

    def _relative(self, path: Path) -> str:
        if path == self.root:
            return path.name
        return path.relative_to(self.root).as_posix()

    def __iter__(self) -> Iterator[SourceFile]:
        self.files = 0
        for visited, path in enumerate(walk_files(self.root)):
            if visited >= MAX_FILES:
                return
            if not self._wanted(path):
                continue
            relative = self._relative(path)
            if _VENDORED_DIRS.intersection(relative.split("/")[:-1]):
                continue
            text = _read_text(path)
            if text is not None:
                self.files += 1
                yield SourceFile(relative, text)


def _read_text(path: Path) -> str | None:
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_FILE_BYTES:
            return None  # a pipe or a device would block or never end
        data = path.read_bytes()
    except OSError:
        return None
    if is_binary(data[:_SNIFF]):
        return None
    return data.decode("utf-8", "replace")


def parse_python(file: SourceFile) -> ast.Module | None:
    """The module's syntax tree; ``None`` when it does not parse. The compiler's warnings
    about the module (invalid escape sequences …) are silenced: they are the module's, not
    ours. Silencing changes process-wide state, so parses here take turns (sub-agents run
    checks in threads; a parse holds the GIL anyway)."""
    try:
        with _PARSING, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(file.text, filename=file.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def is_test_path(path: str) -> bool:
    """A test file by its place or name: under ``tests/``, ``test/`` or ``__tests__/``,
    ``test_*.py``, ``*_test.py``, ``conftest.py``, or ``*.test.*`` / ``*.spec.*``."""
    *directories, name = path.split("/")
    if _TEST_DIRS.intersection(directories):
        return True
    if name.endswith(".py"):
        stem = name[:-3]
        return stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"
    return any(marker in name for marker in _JS_TEST_MARKERS)


def lower_severity(severity: Severity) -> Severity:
    """One step less severe (``info`` stays ``info``)."""
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then by path and line (and message, so the order is total)."""
    return sorted(findings, key=lambda finding: (*finding.rank(), finding.message))


def trimmed(text: str, limit: int = 120) -> str:
    """``text`` on one line, whitespace collapsed, at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
