"""``ainos serve``'s dashboard, for real: its address in the startup output, and a page left
open that never holds the daemon's shutdown for its drain timeout."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
from pathlib import Path
from urllib.parse import urlsplit

from .conftest import start_daemon

WAIT_S = 60  # a bound on waiting for the daemon, never a measurement


def test_an_open_dashboard_ends_as_the_daemon_stops(tmp_path: Path) -> None:
    # The drain timeout is far longer than the test waits: only the stream's own end lets
    # the daemon exit in time.
    daemon = start_daemon(tmp_path / "run" / "control.sock", "--drain-timeout", "600")
    try:
        assert daemon.process.stderr is not None
        lines = [daemon.process.stderr.readline() for _ in range(2)]
        found = re.search(r"dashboard on (http://\S+)/$", lines[1].strip())
        assert found, lines
        address = urlsplit(found.group(1))
        assert address.hostname == "127.0.0.1"
        connection = http.client.HTTPConnection("127.0.0.1", address.port, timeout=WAIT_S)
        page = http.client.HTTPConnection("127.0.0.1", address.port, timeout=WAIT_S)
        page.request("GET", "/")
        assert page.getresponse().status == 200
        page.close()
        connection.request("GET", "/ainos/view/events")
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline() == b"retry: 3000\n"
        assert response.readline() == b"event: hello\n"
        daemon.process.send_signal(signal.SIGTERM)
        events = [line for line in iter(response.readline, b"") if line.startswith(b"event:")]
        connection.close()
        assert events[-1] == b"event: end\n"
        _, stderr = daemon.process.communicate(timeout=WAIT_S)
    finally:
        daemon.kill_if_running()
    assert daemon.process.returncode == 0, stderr
    assert "Traceback" not in stderr


def _mcp_post(
    connection: http.client.HTTPConnection, body: dict[str, object], session: str | None
) -> http.client.HTTPResponse:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if session is not None:
        headers["mcp-session-id"] = session
    connection.request("POST", "/mcp", json.dumps(body), headers)
    response = connection.getresponse()
    response.read()
    return response


def test_an_open_mcp_stream_ends_as_the_daemon_stops(tmp_path: Path) -> None:
    # An MCP client's standing GET stream (the server's messages) waits for events that
    # never come: like the dashboard's, it must not hold the shutdown for the drain timeout.
    daemon = start_daemon(tmp_path / "run" / "control.sock", "--drain-timeout", "600")
    try:
        assert daemon.process.stderr is not None
        found = re.search(r"MCP on (http://\S+)/mcp", daemon.process.stderr.readline())
        assert found
        port = urlsplit(found.group(1)).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)
        hello = {"protocolVersion": "2025-06-18", "capabilities": {},
                 "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
        started = _mcp_post(
            connection, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}, None
        )
        assert started.status == 200
        session = started.getheader("mcp-session-id")
        assert session
        ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert _mcp_post(connection, ready, session).status == 202
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_S)
        stream.request("GET", "/mcp", headers={"Accept": "text/event-stream",
                                               "mcp-session-id": session})  # fmt: skip
        response = stream.getresponse()
        assert response.status == 200
        daemon.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read()  # ends when the daemon ends the stream
        stream.close()
        connection.close()
        _, stderr = daemon.process.communicate(timeout=WAIT_S)
    finally:
        daemon.kill_if_running()
    assert daemon.process.returncode == 0, stderr
    assert "Traceback" not in stderr
