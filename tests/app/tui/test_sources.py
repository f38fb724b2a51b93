"""The two real sources of views: a runtime started in the viewer's process, and a running
daemon (``ainos serve`` in a child process) read over its HTTP API — and what the screen
shows when that daemon goes away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.app.tui.helpers import text, wait_for

from ainos.app.api import daemon_api_url
from ainos.app.tui import DaemonSource, InProcessSource, TopApp, open_source
from ainos.errors import AinosError

pytestmark = pytest.mark.anyio


def _pids(app: TopApp) -> list[int]:
    return [int(str(row.key.value)) for row in app.processes_table().ordered_rows]


async def test_the_in_process_source_starts_a_runtime_of_its_own(seeded_home: Path) -> None:
    source = open_source(None)  # no daemon runs in this home
    assert isinstance(source, InProcessSource)
    try:
        app = TopApp(source, refresh_s=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.view is not None, "the runtime's first look", 120)
            assert app.view is not None
            assert app.view.source == "in-process"
            assert "in-process runtime" in text(app, "#header")
            assert "/ 4.0 MiB" in text(app, "#pool .summary")
            assert os.getpid() in _pids(app)
    finally:
        source.close()
    with pytest.raises(AinosError, match="closed"):
        source()


@dataclass
class _Daemon:
    process: subprocess.Popen[bytes]
    socket_path: Path
    url: str


@pytest.fixture
def daemon(seeded_home: Path, tmp_path: Path) -> Iterator[_Daemon]:
    """``ainos serve`` with its HTTP API on a free port."""
    socket_path = tmp_path / "run" / "control.sock"
    command = [sys.executable, "-m", "ainos", "serve", "--socket", str(socket_path)]
    with (tmp_path / "daemon.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", "0", "--pool-mib", "8", "--no-mcp"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 120
        url = None
        while url is None:
            assert process.poll() is None, (tmp_path / "daemon.log").read_text()
            assert time.monotonic() < deadline, "the daemon did not publish its API in time"
            url = daemon_api_url(socket_path) if socket_path.exists() else None
            time.sleep(0.05)
        yield _Daemon(process, socket_path, url)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_the_daemon_source_shows_the_daemons_view_and_its_going(daemon: _Daemon) -> None:
    forced = open_source(daemon.socket_path, in_process=True)
    assert isinstance(forced, InProcessSource)
    assert forced.where == "in-process runtime (--in-process)"
    source = open_source(daemon.socket_path)
    assert isinstance(source, DaemonSource)
    try:
        app = TopApp(source, refresh_s=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.view is not None, "the daemon's view")
            assert app.view is not None
            assert app.view.source == "daemon"
            assert f"daemon at {daemon.url}" in text(app, "#header")
            assert "/ 8.0 MiB" in text(app, "#pool .summary")  # the daemon's pool, not ours

            daemon.process.terminate()
            assert daemon.process.wait(timeout=60) == 0
            status = app.query_one("#status")
            await wait_for(pilot, lambda: status.has_class("failing"), "the failed look")
            failure = text(app, "#status")
            assert failure.startswith("look failed, retrying (showing the view of ")
            assert f"): cannot reach the daemon's API at {daemon.url}" in failure
            assert "\n" not in text(app, "#status")
            assert "/ 8.0 MiB" in text(app, "#pool .summary")  # the last view stays
            assert app.is_running
    finally:
        source.close()
