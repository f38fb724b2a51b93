"""Fixtures for the actions tests: definition files in the user's directory, a runtime."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.actions import ActionRuntime, user_actions_dir

WriteDefinition = Callable[..., Path]


def action(
    action_id: str,
    inputs: list[dict[str, Any]],
    invocation: dict[str, Any],
    *,
    combinations: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One entry of ``actions[]`` with sensible defaults."""
    data: dict[str, Any] = {
        "id": action_id,
        "description": f"{action_id} does its thing",
        "inputs": inputs,
        "outputs": outputs or [],
        "invocation": invocation,
        **extra,
    }
    if combinations is not None:
        data["inputCombinations"] = combinations
    return data


@pytest.fixture
def make_action() -> Callable[..., dict[str, Any]]:
    return action


@pytest.fixture
def actions_dir() -> Path:
    """The user's action directory under this test's ``AINOS_HOME``."""
    directory = user_actions_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def write_definition(actions_dir: Path) -> WriteDefinition:
    def write(name: str, *actions: dict[str, Any], version: int = 3) -> Path:
        path = actions_dir / name
        path.write_text(json.dumps({"version": version, "actions": list(actions)}, indent=2))
        return path

    return write


@pytest.fixture
def runtime(actions_dir: Path) -> ActionRuntime:
    return ActionRuntime(client_name="tests")
