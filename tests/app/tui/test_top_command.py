"""``ainos top`` as a person runs it: in a terminal (tmux), and with a bad option."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def _ainos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ainos", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("refresh", ["0", "0.05", "61", "nan", "-1"])
def test_a_refresh_out_of_bounds_is_one_error_line(refresh: str) -> None:
    done = _ainos("top", "--refresh", refresh)
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        f"ainos: error: --refresh must be a number of seconds from 0.1 to 60, got {refresh}"
    ]
    assert done.stdout == ""


def _poll(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (scripts/system-packages)"
)
def test_ainos_top_in_a_terminal(seeded_home: Path, tmp_path: Path) -> None:
    server = ["tmux", "-S", str(tmp_path / "tmux.sock")]  # a tmux server of its own
    exit_file = tmp_path / "exit-code"
    command = (
        f"env AINOS_HOME={shlex.quote(str(seeded_home))} {shlex.quote(sys.executable)} "
        f"-m ainos top; echo $? > {shlex.quote(str(exit_file))}"
    )
    subprocess.run(
        [*server, "new-session", "-d", "-x", "120", "-y", "40", command],
        check=True,
        cwd=Path(__file__).parents[3],
    )
    screen = ""

    def showing_a_view() -> bool:
        nonlocal screen
        captured = subprocess.run(
            [*server, "capture-pane", "-p"], capture_output=True, text=True, check=False
        )
        screen = captured.stdout
        return re.search(r"│cpu +\d+%", screen) is not None  # a look is on the screen

    try:
        _poll(showing_a_view, "ainos top to show a view", 120)
        header = screen.splitlines()[0]
        assert header.strip().startswith("ainos top · in-process runtime (no daemon API found)")
        assert "devices" in screen
        assert "AI processes ·" in screen
        assert "pid" in screen
        assert "RSS" in screen
        assert "q Quit" in screen
        subprocess.run([*server, "send-keys", "q"], check=True)
        _poll(exit_file.exists, "ainos top to exit", 60)
        assert exit_file.read_text().strip() == "0"
    finally:
        subprocess.run([*server, "kill-server"], capture_output=True, check=False)
