"""What one HTTP connection may cost the daemon: header size and count, time to send a
request, time to sit idle, and how many connections are open at once.

uvicorn bounds none of these for httptools: a header line grows in the parser's buffer
without end, a connection that sends nothing (or half a request) is never closed — only
one idle after a response is, by ``timeout_keep_alive`` — and ``limit_concurrency`` answers
503 to requests but keeps accepting sockets, so idle ones can use up the open-file limit
(and every other file the daemon opens then fails). :class:`LimitedHttpProtocol` adds the
bounds to the coalescing protocol; refusals are HTTP answers with an OpenAI error body,
then the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import resource
from dataclasses import dataclass
from typing import Any, cast

from ainos.app.api._transport import CoalescingHttpProtocol

__all__ = ["HttpLimits", "LimitedHttpProtocol", "connection_cap"]

# Files the daemon needs besides its HTTP connections: models, databases, the control
# socket and its clients, the telemetry sampler's /proc reads.
_RESERVED_FILES = 256


def connection_cap() -> int:
    """Connections the API may hold open: what the open-file limit leaves beside the
    daemon's own files (at least 16)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65536
    return max(16, min(soft - _RESERVED_FILES, soft * 3 // 4))


@dataclass(frozen=True)
class HttpLimits:
    max_header_line: int = 16 * 1024  # one header, name and value
    max_header_bytes: int = 64 * 1024  # the request line and all headers
    max_headers: int = 100
    # From a connection's start (or a request's first byte) to the end of its headers; and
    # the longest pause while its body comes.
    request_timeout_s: float = 15.0
    keep_alive_s: int = 20  # idle between requests
    max_connections: int = 0  # 0: connection_cap()

    def connections(self) -> int:
        return self.max_connections or connection_cap()


def _error_reply(status: int, phrase: str, message: str, code: str) -> bytes:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def _headers_too_large(why: str) -> bytes:
    return _error_reply(
        431,
        "Request Header Fields Too Large",
        f"the request's headers are too large: {why}",
        "request_header_fields_too_large",
    )


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the reply is the protocol's."""


class LimitedHttpProtocol(CoalescingHttpProtocol):
    """The coalescing httptools protocol with :class:`HttpLimits` enforced."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._refused = False  # turned away at connect: uvicorn's side never set up
        self._timer: asyncio.TimerHandle | None = None
        self._reading_headers = True
        self._header_bytes = 0
        self._header_count = 0
        self._reply: bytes | None = None  # the refusal for the parser error being raised

    # -- connections -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self.connections) >= self.limits.connections():
            # Refused at once: the socket is freed now, not when a request would come.
            reply = _error_reply(
                503,
                "Service Unavailable",
                "the server holds as many connections as it may; try again later",
                "too_many_connections",
            )
            self._refused = True
            cast(asyncio.Transport, transport).write(reply)
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._refused:
            super().connection_lost(exc)

    def _arm(self) -> None:
        """(Re)start the clock of the request being sent."""
        self._disarm()
        self._timer = self.loop.call_later(self.limits.request_timeout_s, self._request_timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _request_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._reading_headers and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(
                _error_reply(
                    408,
                    "Request Timeout",
                    f"the request was not sent within {self.limits.request_timeout_s:g} s",
                    "request_timeout",
                )
            )
        self.transport.close()

    # -- reading ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._reading_headers:
            # The parser keeps a header line whole until it ends: its bytes are counted as
            # they come, so a line that never ends cannot grow past the limit.
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse_headers(f"over {self.limits.max_header_bytes} bytes of headers")
        elif self.cycle is not None and self.cycle.more_body:
            self._arm()  # a body that stops coming
        elif (
            self._timer is None
            and self.timeout_keep_alive_task is None
            and (self.cycle is None or self.cycle.response_complete)
        ):
            # Bytes that begin no request (blank lines) stopped uvicorn's idle timer.
            self._arm()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to what the parser refuses; ours in OpenAI's error shape.
        reply, self._reply = self._reply, None
        if reply is None:
            reply = _error_reply(
                400, "Bad Request", "the request is not valid HTTP/1.1", "invalid_http_request"
            )
        self._disarm()
        self.transport.write(reply)
        self.transport.close()

    def _refuse_headers(self, why: str) -> None:
        self._disarm()
        self.transport.write(_headers_too_large(why))
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_headers:
            self._reading_headers, self._header_bytes = True, 0
        self._header_count = 0
        if self._timer is None:
            self._arm()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        problem = None
        if len(name) + len(value) > self.limits.max_header_line:
            problem = f"a header of over {self.limits.max_header_line} bytes"
        elif self._header_count > self.limits.max_headers:
            problem = f"over {self.limits.max_headers} headers"
        if problem is not None:
            self._reply = _headers_too_large(problem)
            raise _Refused(problem)  # the parser stops; uvicorn calls send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def timeout_keep_alive_handler(self) -> None:
        self._disarm()
        super().timeout_keep_alive_handler()
