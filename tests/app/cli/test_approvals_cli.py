"""``ainos approvals``: list, add and remove stored approval rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from ainos.app.agent._rules import ApprovalRules
from ainos.app.cli import _approvals
from ainos.errors import InvalidArgument, NotFound


def cli(*args: str) -> Result:
    app = typer.Typer()
    _approvals.register(app)

    @app.callback()
    def _root() -> None:
        """A test root with one group."""

    return CliRunner().invoke(app, ["approvals", *args])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git work tree; the test runs in a directory inside it."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "pkg").mkdir()
    monkeypatch.chdir(root / "pkg")
    return root.resolve()


def test_add_defaults_to_the_current_project(repo: Path) -> None:
    result = cli("add", "git", "status", "--note", "safe")
    assert result.exit_code == 0, result.output
    assert f"allows exec git status in {repo}" in result.stderr
    (rule,) = ApprovalRules().list_rules()
    assert (rule.kind, rule.pattern, rule.scope, rule.note) == (
        "exec",
        ("git", "status"),
        repo,
        "safe",
    )
    again = cli("add", "git", "status")
    assert f"rule {rule.id} already allows" in again.stderr
    assert len(ApprovalRules().list_rules()) == 1


def test_add_scopes_kinds_and_dash_words(repo: Path, tmp_path: Path) -> None:
    result = cli("add", "--global", "--json", "--", "ls", "-la")
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert added["pattern"] == ["ls", "-la"]
    assert added["scope"] is None
    other = tmp_path / "other"
    other.mkdir()
    assert cli("add", "--project", str(other), "make").exit_code == 0
    assert cli("add", "--kind", "patch", "src/**").exit_code == 0
    rules = ApprovalRules().list_rules()
    assert [(r.kind, r.pattern, r.scope) for r in rules] == [
        ("exec", ("ls", "-la"), None),
        ("exec", ("make",), other.resolve()),
        ("patch", ("src/**",), repo),
    ]


def test_add_mistakes(repo: Path, tmp_path: Path) -> None:
    assert isinstance(cli("add", "--kind", "shell", "ls").exception, InvalidArgument)
    result = cli("add", "--global", "--project", str(tmp_path), "ls")
    assert isinstance(result.exception, InvalidArgument)
    missing = cli("add", "--project", str(tmp_path / "nope"), "ls")
    assert isinstance(missing.exception, InvalidArgument)
    assert "not a directory" in str(missing.exception)
    assert isinstance(cli("add", "--kind", "patch", "/etc/**").exception, InvalidArgument)
    assert cli("add").exit_code == 2  # a pattern is required
    assert ApprovalRules().list_rules() == []


def test_list(repo: Path, tmp_path: Path) -> None:
    result = cli("list")
    assert result.exit_code == 0
    assert "no approval rules apply" in result.stderr
    rules = ApprovalRules()
    mine = rules.add("exec", ["git", "diff"], project=repo, note="a note")
    everywhere = rules.add("exec", ["ls"], project=None)
    other = tmp_path / "other"
    other.mkdir()
    theirs = rules.add("exec", ["cargo"], project=other)

    listed = json.loads(cli("list", "--json").stdout)
    assert [r["id"] for r in listed] == [mine.id, everywhere.id]
    assert listed[0] == mine.to_dict()
    every = json.loads(cli("list", "--all", "--json").stdout)
    assert [r["id"] for r in every] == [mine.id, everywhere.id, theirs.id]
    there = json.loads(cli("list", "--project", str(other), "--json").stdout)
    assert [r["id"] for r in there] == [everywhere.id, theirs.id]

    table = cli("list", "--all")
    assert table.exit_code == 0
    assert "git diff" in table.stdout
    assert "global" in table.stdout
    assert isinstance(cli("list", "--all", "--project", str(other)).exception, InvalidArgument)


def test_rm(repo: Path) -> None:
    rule = ApprovalRules().add("exec", ["git"], project=None)
    result = cli("rm", str(rule.id))
    assert result.exit_code == 0
    assert f"removed approval rule {rule.id}" in result.stderr
    assert ApprovalRules().list_rules() == []
    assert isinstance(cli("rm", str(rule.id)).exception, NotFound)
