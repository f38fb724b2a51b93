"""One keep-alive HTTP/1.1 connection to the daemon's API, for :class:`DaemonApi`.

A request goes out in one write, head and body together: on loopback each write runs the
daemon's receive path and wakes its event loop. Replies are parsed by httptools (llhttp,
the parser uvicorn reads the requests with on the other side). ``http.client`` parses a
reply's headers with the ``email`` package, which took about half of a client's CPU time
for a small request.
"""

from __future__ import annotations

import re
import socket
from collections import deque
from collections.abc import Iterator, Mapping

import httptools

__all__ = ["Connection", "ConnectionLost", "ProtocolError", "Reply"]

_RECEIVE_BYTES = 65536
_NOT_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NOT_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")


class ConnectionLost(ConnectionError):
    """The server closed (or reset) the connection before any byte of the reply: it never
    read the request (a kept-alive connection it closed while idle), so sending it again
    is safe."""


class ProtocolError(Exception):
    """The reply was no valid HTTP/1.1, or it was cut off."""


class Reply:
    """One reply: its status and headers once :meth:`Connection.request` returns, its body
    read whole (:meth:`read`) or line by line as it arrives (iteration: server-sent events).
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        self.headers_complete = False
        self.complete = False
        self._chunks: deque[bytes] = deque()

    # -- the parser's callbacks (httptools calls them by name) -----------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_complete = True

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    # -- the caller's side ------------------------------------------------------------------

    def read(self) -> bytes:
        """The rest of the body, waiting for its end."""
        while not self.complete:
            self._connection.receive()
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data

    def __iter__(self) -> Iterator[bytes]:
        """The body's lines (each with its ``\\n``, the last one perhaps without)."""
        pending = b""
        while True:
            while self._chunks:
                pending += self._chunks.popleft()
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line + b"\n"
            if self.complete:
                break
            self._connection.receive()
        if pending:
            yield pending


class Connection:
    """A TCP connection to ``host:port`` that sends requests and parses their replies, one
    at a time. Socket errors (``OSError``) go to the caller as they are."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._socket: socket.socket | None = socket.create_connection((host, port), timeout)
        # Without TCP_NODELAY a request written while the last reply's ACK is pending waits
        # for it (Nagle's algorithm and delayed ACKs: ~40 ms).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reply: Reply | None = None
        self._received = False  # any byte of the current reply

    @property
    def reusable(self) -> bool:
        """Open, its last reply read to the end, and kept alive by the server."""
        reply = self._reply
        return self._socket is not None and (reply is None or (reply.complete and reply.keep_alive))

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply:
        """Send a request; the reply once its status and headers are in. A target or header
        that would not be one line of Latin-1 raises ``ValueError`` (nothing is sent)."""
        if self._socket is None or not self.reusable:
            raise ProtocolError("the connection is closed or its last reply was not read")
        lines = [f"{method} {_one_line(target, spaces=False)} HTTP/1.1", f"Host: {self._authority}"]
        lines += [f"{name}: {_one_line(value)}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        reply = Reply(self)
        self._reply, self._received = reply, False
        try:
            self._socket.sendall(head + body if body is not None else head)
            while not reply.headers_complete:
                self.receive()
        except (ConnectionResetError, BrokenPipeError) as error:
            self.close()
            if self._received:
                raise
            raise ConnectionLost(f"the server closed the connection: {error}") from None
        return reply

    def receive(self) -> None:
        """Feed the parser what the socket holds next (waiting for it)."""
        sock, reply = self._socket, self._reply
        if sock is None or reply is None:
            raise ProtocolError("the connection is closed")
        data = sock.recv(_RECEIVE_BYTES)
        if not data:
            self.close()
            if not self._received:
                raise ConnectionLost("the server closed the connection")
            raise ProtocolError("the server closed the connection in the middle of a reply")
        self._received = True
        try:
            reply.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.close()
            raise ProtocolError(f"the reply is not valid HTTP: {error}") from None
        if reply.complete and not reply.keep_alive:
            self.close()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _one_line(text: str, *, spaces: bool = True) -> str:
    """``text`` if it can be written in a request's head as it is: no line break and no
    control character, and in a target no space either."""
    if (_NOT_IN_HEADER if spaces else _NOT_IN_TARGET).search(text):
        raise ValueError(f"{text!r} cannot go in a request's head")
    return text
