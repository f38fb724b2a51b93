"""Fixtures of the live view's tests: a runtime in the test's home, a monitor of it, and
real AI processes to list."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.app.tui.helpers import CONFIG

from ainos.app.monitor import Monitor
from ainos.app.runtime import Runtime


@pytest.fixture
def runtime(seeded_home: Path) -> Iterator[Runtime]:
    with Runtime(CONFIG) as started:
        yield started


@pytest.fixture
def monitor(runtime: Runtime) -> Iterator[Monitor]:
    looking = Monitor(runtime)
    yield looking
    looking.close()


@pytest.fixture
def ai_children() -> Iterator[list[subprocess.Popen[str]]]:
    """Three real AI processes (onnxruntime mapped), each holding a different amount of
    memory and carrying a marker of its own on its command line."""
    children = []
    for index, marker in enumerate(("alpha-tui-child", "beta-tui-child", "gamma-tui-child")):
        script = (
            "import sys, onnxruntime\n"
            f"held = b'x' * ({(index + 1) * 24} * 2**20)\n"  # written: resident
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n"
        )
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", script, marker],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        yield children
    finally:
        for child in children:
            child.kill()
            child.communicate()  # reaps it and closes its pipes
