"""A real ``ainos serve`` for tests of the control plane and the commands that use it, and a
raw connection to its socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Daemon", "Line", "start_daemon", "stop_daemon"]


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    socket_path: Path
    log_path: Path

    def log(self) -> str:
        """What the daemon wrote on stderr so far."""
        return self.log_path.read_text(errors="replace")


def start_daemon(directory: Path, *extra: str, env: dict[str, str] | None = None) -> Daemon:
    """``ainos serve`` (control socket only) with its stderr in a file: a pipe nobody reads
    would fill up and stall the daemon."""
    socket_path = directory / "run" / "control.sock"
    log_path = directory / "daemon.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ainos",
                "serve",
                "--no-http",
                "--socket",
                str(socket_path),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    daemon = Daemon(process, socket_path, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited early: {daemon.log()}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(socket_path))
            return daemon
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the daemon did not start listening in time")


def stop_daemon(daemon: Daemon) -> None:
    if daemon.process.poll() is None:
        daemon.process.terminate()
        try:
            daemon.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()


class Line:
    """A raw connection that sends bytes and reads reply lines."""

    def __init__(self, path: Path, timeout: float = 60) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self._buffer = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(json.dumps(message).encode() + b"\n")
        reply = self.read()
        assert isinstance(reply, dict)
        return reply

    def read_bytes(self) -> bytes:
        while (newline := self._buffer.find(b"\n")) < 0:
            chunk = self.sock.recv(1 << 20)
            assert chunk, "the daemon closed the connection without a reply"
            self._buffer += chunk
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        return line

    def read(self) -> Any:
        return json.loads(self.read_bytes())

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Line:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
