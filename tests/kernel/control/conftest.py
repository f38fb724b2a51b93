"""Control-plane servers for the tests: a real ``ainos serve`` process, or the server in this
process (a real socket and real services) where a test reads the server's log records."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.control_daemon import Daemon, start_daemon, stop_daemon

from ainos.kernel.control import ControlServer, KernelServices, ServicesConfig


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(tmp_path, "--pool-mib", "16")
    yield running
    stop_daemon(running)


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[ControlServer]:
    """The control server in this process, on a real socket, serving real services."""
    services = KernelServices(ServicesConfig(pool_bytes=4 << 20, lock_pool=False)).start()
    server = ControlServer(services, tmp_path / "run" / "control.sock")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.close_connections()
    server.server_close()
    services.close()
