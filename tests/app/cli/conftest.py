"""Run the real ``ainos`` command in a child process, as a user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

RunAinos = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_ainos() -> RunAinos:
    def run(*args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
        options: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        options.update(kwargs)
        return subprocess.run(  # type: ignore[call-overload,no-any-return]
            [sys.executable, "-m", "ainos", *args],
            text=True,
            timeout=timeout,
            check=False,
            **options,
        )

    return run
