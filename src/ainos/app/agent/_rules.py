"""Stored approval rules: "always allow this" answers that outlive the session.

A rule allows commands (``exec``: an argv prefix, ``("git", "status")`` allows ``git status
--short``), patches (``patch``: path globs relative to the project, ``src/**``) or tools of
registered MCP servers (``mcp``: a server's id, and one of its tools or all of them), either
everywhere (global) or in one project directory and the projects below it. They are kept in
``data_dir()/approvals.sqlite3`` and managed with ``ainos approvals list|add|rm``.

Matching is deliberately literal: the program must be spelt as in the rule (``git``, not
``/usr/bin/git`` — a ``./git`` in a checkout is another program), and a ``bash -lc``
script is matched only when it is one simple command; anything with shell operators,
expansions or several lines never matches, so a rule can never approve more than it says.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ainos._sqlite import PerOperation
from ainos.app.agent._instructions import find_git_root
from ainos.errors import AgentError, InvalidArgument
from ainos.paths import data_dir

__all__ = [
    "RULE_KINDS",
    "ApprovalRule",
    "ApprovalRules",
    "RuleKind",
    "glob_matches",
    "project_root",
    "script_command",
]

RuleKind = Literal["exec", "patch", "mcp"]
RULE_KINDS: tuple[RuleKind, ...] = ("exec", "patch", "mcp")

_SHELLS = frozenset({"bash", "sh", "zsh"})
_SHELL_FLAGS = frozenset({"-lc", "-c"})
_OPERATOR_CHARS = frozenset("();<>|&")
_EXPANSION_CHARS = frozenset("$`\n\r")

# Append only: a released migration is never edited, a new one is added after it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            pattern TEXT NOT NULL,
            scope TEXT NOT NULL,
            created_at REAL NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        # scope '' is global (NULL would make every global rule distinct)
        "CREATE UNIQUE INDEX rules_unique ON rules (kind, pattern, scope)",
    ),
)


@dataclass(frozen=True)
class ApprovalRule:
    id: int
    kind: RuleKind
    pattern: tuple[str, ...]
    scope: Path | None  # the project directory, or None for every project
    created_at: float
    note: str = ""

    def describe(self) -> str:
        """The pattern as a person would type it."""
        return shlex.join(self.pattern) if self.kind == "exec" else " ".join(self.pattern)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "pattern": list(self.pattern),
            "scope": str(self.scope) if self.scope is not None else None,
            "created_at": self.created_at,
            "note": self.note,
        }


def project_root(start: Path | None = None) -> Path:
    """The git work tree holding ``start`` (default: the current directory), else
    ``start`` itself — resolved."""
    here = (start if start is not None else Path.cwd()).resolve()
    return find_git_root(here) or here


def script_command(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The argv a rule is matched against: ``argv`` itself, or for ``bash -lc SCRIPT`` the
    script's words when it is a single simple command; ``None`` when it is not."""
    if len(argv) >= 2 and PurePosixPath(argv[0]).name in _SHELLS and argv[1] in _SHELL_FLAGS:
        if len(argv) != 3:
            return None
        return _simple_command(argv[2])
    return tuple(argv)


def _simple_command(script: str) -> tuple[str, ...] | None:
    if any(char in _EXPANSION_CHARS for char in script):
        return None
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = tuple(lexer)
    except ValueError:  # unbalanced quotes
        return None
    if not words or any(word and set(word) <= _OPERATOR_CHARS for word in words):
        return None
    return words


def glob_matches(glob: str, relative: PurePosixPath) -> bool:
    """``*``, ``?`` and ``[…]`` within one path segment; ``**`` any number of segments."""
    return _segments_match(tuple(glob.strip("/").split("/")), relative.parts)


@lru_cache(maxsize=1024)
def _segments_match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_segments_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _segments_match(rest, parts[1:])


def _rule_kind(kind: str) -> RuleKind:
    for known in RULE_KINDS:
        if kind == known:
            return known
    raise InvalidArgument(f"a rule's kind is exec, patch or mcp, not {kind!r}")


def _check_pattern(kind: str, pattern: Sequence[str]) -> tuple[RuleKind, tuple[str, ...]]:
    rule_kind = _rule_kind(kind)
    words = tuple(pattern)
    if not words or any(not isinstance(w, str) or not w for w in words):
        raise InvalidArgument("a rule needs a pattern of non-empty words")
    if kind == "patch":
        for glob in words:
            parts = PurePosixPath(glob).parts
            if glob.startswith("/") or ".." in parts:
                raise InvalidArgument(
                    f"a patch rule's glob is relative to the project and stays inside it: {glob!r}"
                )
    if kind == "mcp" and len(words) > 2:
        raise InvalidArgument("an mcp rule is a server's id, and optionally one of its tools")
    return rule_kind, words


class ApprovalRules:
    """The rules in ``data_dir()/approvals.sqlite3`` (one connection per operation: the file
    is shared by every ainos process, SQLite's locking does the rest)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path if path is not None else data_dir() / "approvals.sqlite3"
        self._db = PerOperation(
            MIGRATIONS, name="approval rules", error=AgentError, pragmas=("journal_mode = WAL",)
        )

    @property
    def path(self) -> Path:
        return self._path

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.connect(self._path)

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    @staticmethod
    def _rule(row: tuple[Any, ...]) -> ApprovalRule:
        return ApprovalRule(
            id=row[0],
            kind=_rule_kind(row[1]),
            pattern=tuple(json.loads(row[2])),
            scope=Path(row[3]) if row[3] else None,
            created_at=row[4],
            note=row[5],
        )

    def add(
        self,
        kind: str,
        pattern: Sequence[str],
        *,
        project: Path | None,
        note: str = "",
    ) -> ApprovalRule:
        """Store a rule; the same rule again returns the one already stored."""
        rule_kind, words = _check_pattern(kind, pattern)
        scope = str(project.resolve()) if project is not None else ""
        encoded = json.dumps(list(words), ensure_ascii=False)
        with self._connect() as db:
            db.execute(
                "INSERT INTO rules (kind, pattern, scope, created_at, note) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (kind, pattern, scope) DO NOTHING",
                (rule_kind, encoded, scope, time.time(), note),
            )
            row = db.execute(
                "SELECT id, kind, pattern, scope, created_at, note FROM rules"
                " WHERE kind = ? AND pattern = ? AND scope = ?",
                (rule_kind, encoded, scope),
            ).fetchone()
        return self._rule(row)

    def remove(self, rule_id: int) -> bool:
        with self._connect() as db:
            cursor = db.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
        return cursor.rowcount > 0

    def list_rules(self, project: Path | None = None) -> list[ApprovalRule]:
        """All rules, or those applying in ``project``: global ones, the project's own and
        those of the directories above it."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, kind, pattern, scope, created_at, note FROM rules ORDER BY id"
            ).fetchall()
        rules = [self._rule(row) for row in rows]
        if project is None:
            return rules
        here = project.resolve()
        return [r for r in rules if r.scope is None or here.is_relative_to(r.scope)]

    def match_command(self, argv: Sequence[str], project: Path) -> ApprovalRule | None:
        """The rule allowing ``argv`` in ``project``: its pattern is a prefix of the command
        (of a ``bash -lc`` script's one simple command)."""
        command = script_command(argv)
        if command is None:
            return None
        for rule in self.list_rules(project):
            if rule.kind == "exec" and command[: len(rule.pattern)] == rule.pattern:
                return rule
        return None

    def match_mcp(self, server: str, tool: str, project: Path) -> ApprovalRule | None:
        """The rule allowing ``tool`` of the MCP server ``server`` in ``project``: one naming
        both, or the server alone (all its tools)."""
        for rule in self.list_rules(project):
            if rule.kind == "mcp" and rule.pattern in ((server,), (server, tool)):
                return rule
        return None

    def match_patch(self, paths: Sequence[Path], project: Path) -> ApprovalRule | None:
        """A rule allowing a patch of ``paths`` (relative ones are taken from ``project``):
        every path lies inside the project and matches a glob of a patch rule (the globs of
        a project's rule are relative to that project, of a global rule to ``project``).
        Returns the rule matching the first path."""
        here = project.resolve()
        rules = [r for r in self.list_rules(here) if r.kind == "patch"]
        if not paths or not rules:
            return None
        first: ApprovalRule | None = None
        for raw in paths:
            target = _absolute(raw, here)
            if not target.is_relative_to(here):
                return None
            rule = next((r for r in rules if _rule_allows(r, target, here)), None)
            if rule is None:
                return None
            first = first or rule
        return first


def _absolute(path: Path, project: Path) -> Path:
    """``path`` made absolute and normalised without touching the file system beyond
    resolving the parts that exist (a patch may create new files)."""
    return (path if path.is_absolute() else project / path).resolve()


def _rule_allows(rule: ApprovalRule, target: Path, project: Path) -> bool:
    base = rule.scope if rule.scope is not None else project
    if not target.is_relative_to(base):
        return False
    relative = PurePosixPath(target.relative_to(base).as_posix())
    return any(glob_matches(glob, relative) for glob in rule.pattern)
