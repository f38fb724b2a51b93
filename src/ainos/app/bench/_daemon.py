"""A real daemon (``ainos serve`` in a child process) for benchmarks that measure through it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ainos.errors import AinosError
from ainos.kernel.control import Client

__all__ = ["Daemon", "running_daemon"]

_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Daemon:
    process: subprocess.Popen[bytes]
    socket_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def _wait_listening(process: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-500:]
            raise AinosError(f"the daemon did not start: {tail}")
        try:
            Client(socket_path).close()
            return
        except AinosError:
            time.sleep(0.05)
    raise AinosError(f"the daemon did not start listening within {_START_TIMEOUT_S:g} s")


@contextmanager
def running_daemon(*, pool_mib: int = 8) -> Iterator[Daemon]:
    """A daemon on a private temporary socket, its HTTP API on a free port; stopped on exit.

    Its stderr goes to a file, not a pipe: a pipe nobody reads would block a chatty daemon.
    """
    with tempfile.TemporaryDirectory(prefix="ainos-bench-") as directory:
        os.chmod(directory, 0o700)
        socket_path = Path(directory) / "control.sock"
        log = Path(directory) / "daemon.log"
        command = [sys.executable, "-m", "ainos", "serve", "--socket", str(socket_path)]
        command += ["--port", "0", "--pool-mib", str(pool_mib)]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        try:
            _wait_listening(process, socket_path, log)
            yield Daemon(process, socket_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
