"""Starting a registered server (contained if it must be) and reaching a remote one: the
SDK's transports, plus what a person needs when the server dies — its exit status and the
last lines of its stderr.

A local server runs under ``/bin/sh`` that records its exit status in a file: the SDK's
stdio transport owns the process and does not tell how it ended. Its stderr goes through a
pipe whose reader keeps the last lines (and echoes them, for ``ainos mcp run``).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TextIO

from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from ainos.ai.mcp_registry._consent import Grant
from ainos.ai.mcp_registry._containment import bubblewrap, contained_argv
from ainos.ai.mcp_registry._entry import RemoteEndpoint, ServerEntry
from ainos.errors import McpServerError

__all__ = ["Launched", "describe", "launch", "single_error"]

# "$1" is the status file, the rest the server's command line; "$0" names the shell in its
# own messages ("ainos-mcp: 1: foo: not found").
_STATUS_SCRIPT = 'file=$1; shift; "$@"; status=$?; echo "$status" > "$file"; exit "$status"'
_TAIL_LINES = 5
_TAIL_WAIT_S = 1.0
_HTTP_TIMEOUT_S = 30.0
_HTTP_READ_TIMEOUT_S = 300.0  # a server may hold a response stream open


class _StderrTail:
    """The server's stderr: a pipe whose reader thread keeps the last lines."""

    def __init__(self, echo: TextIO | None) -> None:
        read_end, write_end = os.pipe()
        self.writer: TextIO = os.fdopen(write_end, "w")  # the child's stderr
        self._reader = os.fdopen(read_end, "rb")
        self._echo = echo
        self._lines: deque[str] = deque(maxlen=_TAIL_LINES)
        self._thread = threading.Thread(target=self._pump, name="mcp-server-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with self._reader:
            for raw in self._reader:
                text = raw.decode(errors="replace")
                if self._echo is not None:
                    self._echo.write(text)
                    self._echo.flush()
                if text.strip():
                    self._lines.append(text.rstrip())

    def release(self) -> None:
        """Close our copy of the write end, so the pipe ends when the server's side does."""
        if not self.writer.closed:
            self.writer.close()

    def lines(self) -> list[str]:
        self._thread.join(_TAIL_WAIT_S)
        return list(self._lines)


class Launched:
    """A started (or reached) server: its streams, and how it ended."""

    def __init__(
        self,
        entry: ServerEntry,
        streams: TransportStreams,
        status_file: Path | None = None,
        stderr: _StderrTail | None = None,
    ) -> None:
        self.entry = entry
        self.streams = streams
        self._status_file = status_file
        self._stderr = stderr
        self._status: int | None = None
        self._tail: list[str] | None = None

    def exit_status(self) -> int | None:
        """The server's exit status once it has exited; None while it runs (or for a
        remote server, or one killed before it could exit)."""
        if self._status is None and self._status_file is not None:
            try:
                self._status = int(self._status_file.read_text().strip())
            except (OSError, ValueError):
                return None
        return self._status

    def stderr_tail(self) -> list[str]:
        if self._tail is not None:
            return self._tail
        return self._stderr.lines() if self._stderr is not None else []

    def settle(self) -> None:
        """Keep the status and stderr (the files holding them are about to go)."""
        self.exit_status()
        self._tail = self.stderr_tail()

    def failure(self, cause: BaseException | str, *, starting: bool = False) -> McpServerError:
        """The error saying why the server failed us (``starting``: in its handshake): how
        it ended, what it last said."""
        what = f"MCP server {self.entry.id!r}"
        reason = cause if isinstance(cause, str) else describe(cause)
        launch = self.entry.launch
        if isinstance(launch, RemoteEndpoint):
            return McpServerError(f"{what} at {launch.url} failed: {reason}")
        status = self.exit_status()
        when = " as it started" if starting else ""
        if status is None:
            head = f"{what} failed{when}: {reason}"
        elif status == 127:
            head = f"{what} could not start (exit status 127: command not found)"
        else:
            head = f"{what} exited with status {status}{when}"
        tail = self.stderr_tail()
        said = f"; its stderr ended: {' | '.join(tail)}" if tail else "; it wrote nothing to stderr"
        return McpServerError(head + said)


def describe(error: BaseException) -> str:
    """One line for an exception of the SDK or its transports (the first of a group)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = " ".join(str(error).split())
    return text or type(error).__name__


@contextmanager
def single_error() -> Iterator[None]:
    """Task groups (the SDK's transports, the relay) wrap whatever crosses them in an
    exception group; a group of one is that one error again, for callers and people."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from leaves[0].__cause__  # its own cause kept, the group dropped
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found += _leaves(error) if isinstance(error, BaseExceptionGroup) else [error]
    return found


@asynccontextmanager
async def launch(
    entry: ServerEntry,
    *,
    grants: Sequence[Grant] = (),
    echo_stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[Launched]:
    """Start ``entry``'s server (inside bubblewrap under ``grants`` when it is contained),
    or connect to it if it is remote. ``echo_stderr``: where its stderr also goes."""
    if isinstance(entry.launch, RemoteEndpoint):
        async with _remote(entry, entry.launch) as reached:
            yield reached
        return
    command = entry.launch
    environment = {**(os.environ if environ is None else environ), **command.env}
    argv = [command.command, *command.args]
    if entry.containment == "contained":
        argv = contained_argv(entry, grants, bwrap=bubblewrap(entry.id), environ=environment)
    cwd = command.cwd or entry.base_dir
    with tempfile.TemporaryDirectory(prefix="ainos-mcp-") as scratch:
        status_file = Path(scratch) / "status"
        tail = _StderrTail(echo_stderr)
        parameters = StdioServerParameters(
            command="/bin/sh",
            args=["-c", _STATUS_SCRIPT, "ainos-mcp", str(status_file), *argv],
            env=dict(command.env),
            cwd=cwd if cwd is not None and cwd.is_dir() else None,
        )
        launched: Launched | None = None
        try:
            async with stdio_client(parameters, tail.writer) as streams:
                tail.release()
                launched = Launched(entry, streams, status_file, tail)
                yield launched
        except OSError as exc:
            if launched is not None:
                raise
            raise McpServerError(
                f"cannot start MCP server {entry.id!r}: {exc.strerror or exc}"
            ) from exc
        finally:
            tail.release()
            if launched is not None:  # stopped now: keep what the files say before they go
                launched.settle()


@asynccontextmanager
async def _remote(entry: ServerEntry, endpoint: RemoteEndpoint) -> AsyncIterator[Launched]:
    import httpx2  # the SDK's HTTP client (a dependency of mcp)

    timeout = httpx2.Timeout(_HTTP_TIMEOUT_S, read=_HTTP_READ_TIMEOUT_S)
    async with (
        httpx2.AsyncClient(headers=dict(endpoint.headers), timeout=timeout) as http,
        streamable_http_client(endpoint.url, http_client=http) as streams,
    ):
        yield Launched(entry, streams)
