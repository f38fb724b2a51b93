"""A real ``ainos serve`` in a child process, on a socket of the test's own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Daemon:
    process: subprocess.Popen[str]
    socket_path: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr

    def kill_if_running(self) -> None:
        """After a test that ended before the daemon did (a failure halfway): it must not
        outlive the test."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def wait_for_socket(path: Path, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited early: {process.communicate()[1]}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(path))
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the daemon did not start listening in time")


def start_daemon(socket_path: Path, *extra: str) -> Daemon:
    process = subprocess.Popen(
        # Port 0: any free port, so daemons of parallel runs never collide.
        [
            sys.executable,
            "-m",
            "ainos",
            "serve",
            "--socket",
            str(socket_path),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    wait_for_socket(socket_path, process)
    return Daemon(process, socket_path)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(tmp_path / "run" / "control.sock", "--pool-mib", "16")
    yield running
    running.kill_if_running()
