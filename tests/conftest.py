"""Suite-wide fixtures: every test runs with its own ``AINOS_HOME``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def ainos_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, private state directory for the test (and the processes it starts)."""
    home = tmp_path_factory.mktemp("ainos-home")
    monkeypatch.setenv("AINOS_HOME", str(home))
    return home
