"""The daemon's side of the control plane: a Unix-socket server of newline-delimited
JSON-RPC 2.0, one thread per connection (``socketserver``).

Each connection is a :class:`Session`: its peer is identified with SO_PEERCRED, and when
it closes — or its process dies — its jobs are cancelled and its pinned blocks freed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ainos.errors import (
    AinosError,
    DeadlineExceeded,
    FdPassingError,
    HandleNotOwned,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    NotFound,
    PermissionDenied,
    QueueFull,
)
from ainos.kernel.control._jsonrpc import (
    Invalid,
    Request,
    encode_reply,
    error_response,
    notification,
    parse_line,
    result_response,
)
from ainos.kernel.control._limits import MAX_LINE_BYTES
from ainos.kernel.control._paths import private_directory
from ainos.kernel.control._services import InvalidParams, KernelServices, Session
from ainos.kernel.memory import send_arena_fd
from ainos.protocol.control import ErrorCode, PeerCredentials

__all__ = ["MAX_LINE_BYTES", "ControlServer"]

_log = logging.getLogger(__name__)

# Requests are small (tensors travel in the pinned pool); a longer line is refused, skipped
# up to its newline, and the connection goes on.
_RECV_BYTES = 65536
_UCRED = struct.Struct("3i")

# Most specific first: the first match decides the code.
_ERROR_CODES: tuple[tuple[type[AinosError], int], ...] = (
    (InvalidParams, ErrorCode.INVALID_PARAMS),
    (QueueFull, ErrorCode.QUEUE_FULL),
    (DeadlineExceeded, ErrorCode.DEADLINE_EXCEEDED),
    (JobCancelled, ErrorCode.JOB_CANCELLED),
    (JobFailed, ErrorCode.JOB_FAILED),
    (PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (HandleNotOwned, ErrorCode.PERMISSION_DENIED),
    (NotFound, ErrorCode.NOT_FOUND),
    (InvalidArgument, ErrorCode.INVALID_PARAMS),
)


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    pid, uid, gid = _UCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    )
    return PeerCredentials(pid=pid, uid=uid, gid=gid)


def _error_for(request: Request, exc: AinosError) -> dict[str, Any]:
    code = next((c for kind, c in _ERROR_CODES if isinstance(exc, kind)), ErrorCode.AINOS_ERROR)
    if isinstance(exc, NotFound) and str(exc).startswith("Method not found"):
        code = ErrorCode.METHOD_NOT_FOUND
    data: dict[str, Any] = {"type": type(exc).__name__}
    if isinstance(exc, InvalidParams) and exc.errors:
        data["errors"] = exc.errors
    return error_response(request.id, code, str(exc), data)


class _Connection(socketserver.BaseRequestHandler):
    server: ControlServer
    request: socket.socket

    def setup(self) -> None:
        self._write_lock = threading.Lock()

    def _send(self, message: dict[str, Any] | list[dict[str, Any]], fd: int | None = None) -> None:
        data = encode_reply(message)
        with self._write_lock:
            if fd is None:
                self.request.sendall(data)
            else:
                send_arena_fd(self.request, fd, data)

    def _notify(self, method: str, params: dict[str, Any]) -> None:
        self._send(notification(method, params))

    def handle(self) -> None:
        sock = self.request
        peer = peer_credentials(sock)
        if peer.uid not in (os.getuid(), 0):
            self._send(
                error_response(None, ErrorCode.PERMISSION_DENIED, "Permission denied: other user")
            )
            return
        services = self.server.services
        session = services.open_session(peer, self._notify)
        self.server.track(sock, add=True)
        try:
            self._serve(session)
        except (OSError, FdPassingError) as exc:
            # The client went away mid-exchange (closed, crashed, killed): ordinary, and its
            # session is cleaned up below like any other.
            _log.info("control client pid %d disconnected: %s", peer.pid, exc)
        finally:
            self.server.track(sock, add=False)
            services.close_session(session)

    def _serve(self, session: Session) -> None:
        buffer = bytearray()
        skipping = False  # inside an oversized line, dropping bytes up to its newline
        while chunk := self.request.recv(_RECV_BYTES):
            buffer += chunk
            while (newline := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:newline])
                del buffer[: newline + 1]
                if skipping:
                    skipping = False
                elif len(line) > MAX_LINE_BYTES:
                    self._refuse_oversized()
                elif line.strip():
                    with self.server.in_flight():
                        self._serve_line_safely(line, session)
            if len(buffer) > MAX_LINE_BYTES:
                if not skipping:
                    self._refuse_oversized()
                skipping = True
                buffer.clear()

    def _refuse_oversized(self) -> None:
        self._send(
            error_response(
                None,
                ErrorCode.INVALID_REQUEST,
                f"Invalid Request: line longer than {MAX_LINE_BYTES} bytes",
            )
        )

    def _serve_line_safely(self, line: bytes, session: Session) -> None:
        """Serve one line; a fault of the server's own still gets an answer, and the
        connection goes on."""
        try:
            self._serve_line(line, session)
        except (OSError, FdPassingError):
            raise  # the client is gone: nothing to answer
        except Exception:
            _log.exception("serving a control line failed")
            self._send(error_response(None, ErrorCode.INTERNAL_ERROR, "Internal error"))

    def _serve_line(self, line: bytes, session: Session) -> None:
        parsed = parse_line(line)
        if isinstance(parsed, Invalid):
            self._send(parsed.response)
            return
        batch = line.lstrip().startswith(b"[")
        responses: list[dict[str, Any]] = []
        for item in parsed:
            if isinstance(item, Invalid):
                responses.append(item.response)
                continue
            if item.method == "attach_pool" and not batch and not item.is_notification:
                self._attach_pool(item, session)
                continue
            response = self._dispatch(item, session)
            if not item.is_notification:
                responses.append(response)
        if responses:
            self._send(responses if batch else responses[0])

    def _dispatch(self, request: Request, session: Session) -> dict[str, Any]:
        if request.method == "attach_pool":
            return error_response(
                request.id, ErrorCode.INVALID_REQUEST, "attach_pool cannot be batched"
            )
        try:
            result = self.server.services.call(request.method, request.params, session)
        except AinosError as exc:
            return _error_for(request, exc)
        except Exception:
            _log.exception("method %s failed", request.method)
            return error_response(request.id, ErrorCode.INTERNAL_ERROR, "Internal error")
        return result_response(request.id, result)

    def _attach_pool(self, request: Request, session: Session) -> None:
        response = self._dispatch_attach(request, session)
        self._send(response, fd=self.server.services.pool.fd if "result" in response else None)

    def _dispatch_attach(self, request: Request, session: Session) -> dict[str, Any]:
        try:
            result = self.server.services.call("attach_pool", request.params, session)
        except AinosError as exc:
            return _error_for(request, exc)
        return result_response(request.id, result)


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Serves :class:`KernelServices` on a Unix socket (mode 0600)."""

    daemon_threads = True
    block_on_close = False
    # Clients that connect faster than the accept loop takes them wait in this queue, not
    # refused (the kernel caps it at net.core.somaxconn).
    request_queue_size = socket.SOMAXCONN

    def __init__(self, services: KernelServices, path: Path) -> None:
        self.services = services
        self.path = path
        private_directory(path.parent)
        self._lock_path = path.with_name(path.name + ".lock")  # one lock per socket
        self._lock_file = self._take_lock(self._lock_path)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Condition()
        self._requests_in_flight = 0
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a stale socket: the lock says no daemon owns it
        old_umask = os.umask(0o177)  # the socket is born 0600: no window for others
        try:
            super().__init__(str(path), _Connection)
        except BaseException:
            self._release_lock()
            raise
        finally:
            os.umask(old_umask)
        services.socket_path = str(path)

    def _take_lock(self, lock_path: Path) -> IO[str]:
        lock_file = lock_path.open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            owner = lock_file.read().strip() or "?"
            lock_file.close()
            raise AinosError(
                f"an ainos daemon (pid {owner}) is already serving {self.path}"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        return lock_file

    def _release_lock(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._lock_path.unlink()
        self._lock_file.close()

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    @property
    def connection_count(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Mark a request being served, so closing waits for its answer to go out."""
        with self._connections_lock:
            self._requests_in_flight += 1
        try:
            yield
        finally:
            with self._connections_lock:
                self._requests_in_flight -= 1
                self._connections_lock.notify_all()

    def close_connections(self, grace_s: float = 2.0) -> None:
        """End every open connection (their threads see EOF and clean up their sessions),
        once requests being served have answered, or after ``grace_s``."""
        with self._connections_lock:
            self._connections_lock.wait_for(lambda: self._requests_in_flight == 0, grace_s)
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._release_lock()
