"""Shared by the supervisor's tests: a git repository with planted findings, agent
definitions from YAML text, and scripted models handed out per scheduler client."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent

import pytest

from ainos.app.agent import AgentConfig, ModelReply, ModelTraits
from ainos.app.agent.providers import FakeScriptedModel
from ainos.app.agent.providers._scripted import ScriptStep
from ainos.app.supervisor import AgentDefinition, parse_definition

# Planted in the repository: a cloud key and an API token (the secret scan's), a shell call
# and an eval (the dangerous-call scan's), a TODO.
# Built at run time, so this file itself holds no secret-shaped literal for a scanner (ours
# when it reviews this repository, or a host's push protection) to flag.
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLQ"
API_TOKEN = "sk-" + "live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
APP = f'''\
"""A tiny app."""
import subprocess

AWS_KEY = "{AWS_KEY}"
API_TOKEN = "{API_TOKEN}"


def run(cmd):
    # TODO: validate the command before running it
    return subprocess.run(cmd, shell=True)


def parse(text):
    return eval(text)
'''
TEST = """\
from src.app import parse


def test_parse():
    assert parse("1+1") == 2
"""

__all__ = [
    "API_TOKEN",
    "AWS_KEY",
    "ScriptedModels",
    "definition",
    "planted_repo",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return planted_repo(tmp_path / "repo")


def planted_repo(root: Path) -> Path:
    """A git repository at ``root`` with the planted findings."""
    (root / "src").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "tests" / "test_app.py").write_text(TEST)
    (root / "README.md").write_text("# Demo\n\nA demo app that runs commands.\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


@pytest.fixture
def config() -> AgentConfig:
    return AgentConfig(model="fake-scripted", max_seconds=60.0)


def definition(text: str) -> AgentDefinition:
    return parse_definition(dedent(text), "test.yaml")


@dataclass
class ScriptedModels:
    """A scripted model per scheduler client; ``script(client)`` gives each one's steps."""

    script: Callable[[str], Iterable[ScriptStep]] = lambda client: [
        ModelReply(text=f"{client} explains the findings.")
    ]
    small: bool = True
    made: dict[str, FakeScriptedModel] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, client: str) -> FakeScriptedModel:
        model = FakeScriptedModel(self.script(client), traits=ModelTraits(small=self.small))
        with self.lock:
            self.made[client] = model
        return model

    def requests_text(self) -> str:
        """Everything any model was sent, as one string."""
        return "\n".join(
            str(request.messages) for model in self.made.values() for request in model.requests
        )
