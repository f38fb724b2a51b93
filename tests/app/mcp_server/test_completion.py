"""Completion of the prompts' arguments: directories for ``path``, the focus choices (the
template references are completed through the server in test_server.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import mcp_types as types
import pytest

from ainos.app.mcp_server._completion import complete

# Prompt references ask nothing of the server's state.
NO_STATE: Any = cast(Any, None)
REVIEW = types.PromptReference(name="code-review")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for directory in ("src/app", "src/lib", "scripts", "docs", ".git"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "src" / "main.py").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ["docs", "scripts", "src"]),
        ("s", ["scripts", "src"]),
        ("src", ["src"]),
        ("src/", ["src/app", "src/lib"]),
        ("src/l", ["src/lib"]),
        ("./s", ["./scripts", "./src"]),
        ("setup", []),  # files are not offered
        ("nowhere/", []),
        (".g", []),  # hidden directories are not offered
    ],
)
def test_paths_complete_to_directories(tree: Path, value: str, expected: list[str]) -> None:
    assert complete(NO_STATE, REVIEW, "path", value) == expected


def test_an_absolute_path_completes(tree: Path) -> None:
    assert complete(NO_STATE, REVIEW, "path", f"{tree}/src/a") == [f"{tree}/src/app"]


def test_focus_and_unknown_arguments() -> None:
    assert complete(NO_STATE, REVIEW, "focus", "") == [
        "security",
        "error handling",
        "tests",
        "performance",
        "readability",
    ]
    assert complete(NO_STATE, REVIEW, "focus", "Te") == ["tests"]
    assert complete(NO_STATE, REVIEW, "question", "wh") == []


def test_an_unknown_template_completes_to_nothing() -> None:
    ref = types.ResourceTemplateReference(uri="ainos://elsewhere/{x}")
    assert complete(NO_STATE, ref, "x", "") == []
