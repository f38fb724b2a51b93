"""A raw JSON-lines MCP client for ``ainos mcp-server`` over stdio: JSON-RPC lines written to
the server's stdin, lines read from its stdout — what Codex's own clients do, so the tests
see every message (the SDK client drops notifications it has no model for, such as
``codex/event``) and can answer an elicitation as Codex does (``{"decision": …}``)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["Exchange", "RawStdioClient"]

HANDSHAKE_VERSION = "2025-06-18"
_WAIT = 90.0  # seconds for one message: generous, the machine may be busy

# What to answer a server request with: a result, or None to leave it unanswered.
Answer = Callable[[dict[str, Any]], Mapping[str, Any] | None]


class Exchange:
    """One request's answer and what arrived while it ran."""

    def __init__(self) -> None:
        self.response: dict[str, Any] = {}
        self.notifications: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # server-to-client requests

    @property
    def result(self) -> dict[str, Any]:
        assert "result" in self.response, f"an error came back: {self.response}"
        result: dict[str, Any] = self.response["result"]
        return result

    def events(self) -> list[dict[str, Any]]:
        """The ``codex/event`` notifications' params, in order."""
        return [n["params"] for n in self.notifications if n.get("method") == "codex/event"]


class RawStdioClient:
    def __init__(
        self,
        *args: str,
        home: Path,
        cwd: Path,
        stderr_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._stderr = stderr_path.open("w")
        self.stderr_path = stderr_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ainos", "mcp-server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env={**os.environ, "AINOS_HOME": str(home), **(env or {})},
        )
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._held: list[dict[str, Any]] = []  # read while waiting for something else
        self._next_id = 100
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- wire -----------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                self._inbox.put(json.loads(text))
            except json.JSONDecodeError:
                self._inbox.put({"unparsable": text})
        self._inbox.put(None)

    def write_line(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def send(self, message: Mapping[str, Any]) -> None:
        self.write_line(json.dumps({"jsonrpc": "2.0", **message}))

    def next_message(self, timeout: float = _WAIT) -> dict[str, Any]:
        if self._held:
            return self._held.pop(0)
        try:
            message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message from the server in {timeout} s") from None
        if message is None:
            raise AssertionError(f"the server closed stdout: {self.stderr_tail()}")
        return message

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = _WAIT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The first message ``predicate`` accepts, and the ones read before it."""
        skipped: list[dict[str, Any]] = []
        while True:
            message = self.next_message(timeout)
            if predicate(message):
                return message, skipped
            skipped.append(message)

    def stderr_tail(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text()[-3000:]

    # -- JSON-RPC -------------------------------------------------------------------------

    def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, answer: Answer | None = None
    ) -> Exchange:
        """Send a request and read until its response; server requests on the way are
        answered with ``answer`` (unanswered when it gives None)."""
        self._next_id += 1
        request_id = self._next_id
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        self.send(message)
        return self.collect(request_id, answer=answer)

    def collect(self, request_id: int | str, *, answer: Answer | None = None) -> Exchange:
        exchange = Exchange()
        while True:
            message = self.next_message()
            if "method" in message and "id" in message:
                exchange.requests.append(message)
                reply = answer(message) if answer is not None else None
                if reply is not None:
                    self.send({"id": message["id"], "result": dict(reply)})
            elif "method" in message:
                exchange.notifications.append(message)
            elif message.get("id") == request_id:
                exchange.response = message
                return exchange
            else:
                raise AssertionError(f"an unexpected message: {message}")

    def follow(
        self, until: Callable[[dict[str, Any]], bool], *, answer: Answer | None = None
    ) -> Exchange:
        """Read notifications (answering requests) until one ``until`` accepts, included."""
        exchange = Exchange()
        while True:
            message = self.next_message()
            if "method" in message and "id" in message:
                exchange.requests.append(message)
                reply = answer(message) if answer is not None else None
                if reply is not None:
                    self.send({"id": message["id"], "result": dict(reply)})
                continue
            assert "method" in message, f"an unexpected response: {message}"
            exchange.notifications.append(message)
            if until(message):
                return exchange

    def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = dict(params)
        self.send(message)

    def initialize(self, capabilities: Mapping[str, Any] | None = None) -> dict[str, Any]:
        init = self.request(
            "initialize",
            {
                "protocolVersion": HANDSHAKE_VERSION,
                "capabilities": dict(capabilities or {"elicitation": {}}),
                "clientInfo": {"name": "raw-test-client", "version": "0"},
            },
        )
        self.notify("notifications/initialized")
        return init.result

    def close(self) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
        return code

    def __enter__(self) -> RawStdioClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
