"""The system message: ainos's instructions, a developer's additions, and the AGENTS.md files
from the git root down to the working directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ainos.app.agent._instructions import (
    PROJECT_DOC_CAP,
    Instructions,
    find_git_root,
    is_git_repository,
    project_docs,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git work tree with AGENTS.md at the root and in ``pkg``; another above it."""
    root = tmp_path / "repo"
    (root / "pkg" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "AGENTS.md").write_text("outside the repository\n")
    (root / "AGENTS.md").write_text("root rules\n")
    (root / "pkg" / "AGENTS.md").write_text("pkg rules\n")
    return root


def test_docs_run_from_the_git_root_down_to_the_cwd(repo: Path) -> None:
    text, paths = project_docs(repo / "pkg" / "deep")

    assert paths == [repo / "AGENTS.md", repo / "pkg" / "AGENTS.md"]
    assert text == "root rules\n\n\npkg rules\n"


def test_docs_at_the_root_only_and_outside_a_repository(repo: Path, tmp_path: Path) -> None:
    assert project_docs(repo) == ("root rules\n", [repo / "AGENTS.md"])

    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    (plain / "AGENTS.md").write_text("here\n")
    # no git root: the working directory's own file only, nothing above it
    assert project_docs(plain) == ("here\n", [plain / "AGENTS.md"])
    assert project_docs(plain.parent) == ("", [])


def test_docs_are_capped_in_all(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("a" * (PROJECT_DOC_CAP - 5))

    text, paths = project_docs(repo / "pkg")

    assert paths == [repo / "AGENTS.md", repo / "pkg" / "AGENTS.md"]
    assert text == "a" * (PROJECT_DOC_CAP - 5) + "\n\n" + "pkg r"
    assert project_docs(repo / "pkg", cap=5) == ("aaaaa", [repo / "AGENTS.md"])


def test_the_system_message(repo: Path) -> None:
    instructions = Instructions.for_workspace(repo / "pkg", developer="Answer in French.")
    message = instructions.system_message()

    assert message.startswith("You are ainos, a coding agent")
    assert f"You work in the directory {repo / 'pkg'}." in message.replace("\n", " ")
    assert message.index("Answer in French.") < message.index("Project instructions (AGENTS.md):")
    assert message.endswith("Project instructions (AGENTS.md):\nroot rules\n\n\npkg rules\n")


def test_a_replaced_base_and_no_project_docs(tmp_path: Path) -> None:
    instructions = Instructions.for_workspace(tmp_path, base="Be terse.")

    assert instructions.system_message() == "Be terse."
    assert Instructions("Base", "Dev").system_message() == "Base\n\nDev"


def test_git_roots_and_work_trees(repo: Path, tmp_path: Path) -> None:
    assert find_git_root(repo / "pkg" / "deep") == repo
    assert is_git_repository(repo / "pkg" / "deep")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert find_git_root(outside) is None
    assert not is_git_repository(outside)
