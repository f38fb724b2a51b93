"""Shared by the registry's tests (and the agent's and the CLI's MCP tests): the fixture
server, entries that run it, bubblewrap's availability, the fixture served over HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.mcp_registry import RemoteEndpoint, ServerEntry, StdioCommand

__all__ = ["ECHO_SERVER", "bwrap_works", "echo_entry", "needs_bwrap"]

ECHO_SERVER = Path(__file__).with_name("fixtures") / "echo_server.py"


def echo_entry(server_id: str = "echo", *extra_args: str, **fields: Any) -> ServerEntry:
    """An entry running the fixture server with this interpreter."""
    launch = StdioCommand(sys.executable, (str(ECHO_SERVER), *extra_args))
    return ServerEntry(id=server_id, name=server_id, launch=launch, **fields)


def bwrap_works() -> str | None:
    """Why bubblewrap cannot create namespaces here (None: it can)."""
    path = shutil.which("bwrap")
    if path is None:
        return "bwrap is not installed"
    done = subprocess.run(
        [path, "--ro-bind", "/", "/", "true"], capture_output=True, timeout=10, check=False
    )
    if done.returncode != 0:
        return "bwrap cannot create namespaces here: " + done.stderr.decode(errors="replace")
    return None


_WHY_NO_BWRAP = bwrap_works()
needs_bwrap = pytest.mark.skipif(_WHY_NO_BWRAP is not None, reason=_WHY_NO_BWRAP or "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_echo() -> Iterator[ServerEntry]:
    """The fixture server on Streamable HTTP, and an entry reaching it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the HTTP fixture server did not start") from None
                time.sleep(0.1)
        endpoint = RemoteEndpoint(f"http://127.0.0.1:{port}/mcp", {"X-Fixture": "yes"})
        yield ServerEntry(id="web", name="web", launch=endpoint, server_type="remote")
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.wait(timeout=10)
