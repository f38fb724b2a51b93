"""``ainos serve``'s dashboard, for real: its address in the startup output, and a page left
open that never holds the daemon's shutdown for its drain timeout."""

from __future__ import annotations

import http.client
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
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.communicate()
    assert daemon.process.returncode == 0, stderr
    assert "Traceback" not in stderr
