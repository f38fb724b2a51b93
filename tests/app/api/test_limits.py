"""What one connection may cost the server: header size and count (431), time to send a
request (408), idle time, and the number of connections open at once (503) — on a real
uvicorn server and real sockets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ainos.app.api._limits import HttpLimits
from ainos.app.api._server import HttpServer

LIMITS = HttpLimits(
    max_header_line=1024,
    max_header_bytes=4096,
    max_headers=20,
    request_timeout_s=0.5,
    keep_alive_s=1,
    max_connections=4,
)
# Long enough for any of the server's timeouts above, short enough to fail a hang.
WAIT_S = 20


async def echo(request: Request) -> Response:
    return JSONResponse({"length": len(await request.body())})


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    server = HttpServer(
        Starlette(routes=[Route("/", echo, methods=["GET", "POST"])]), "127.0.0.1", 0, LIMITS
    ).start()
    try:
        yield server.host, server.port
    finally:
        server.stop()


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=WAIT_S)


def _read_all(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    return data


def _status_and_error(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return status, error


def _get(connection: socket.socket, extra: bytes = b"") -> None:
    connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n")


def test_a_normal_request_is_served(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        _get(connection, b"Connection: close\r\n")
        assert b'{"length":0}' in _read_all(connection)


def test_too_many_headers_get_431(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        _get(connection, b"".join(b"X-H%d: v\r\n" % i for i in range(50)))
        status, error = _status_and_error(_read_all(connection))
    assert status == 431
    assert "over 20 headers" in str(error["message"])


def test_a_long_header_line_gets_431(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        _get(connection, b"X-Long: " + b"a" * 2000 + b"\r\n")
        status, error = _status_and_error(_read_all(connection))
    assert status == 431
    assert "a header of over 1024 bytes" in str(error["message"])


def _send_64_mib(connection: socket.socket) -> None:
    for _ in range(1024):
        connection.sendall(b"a" * 65536)


def test_a_header_that_never_ends_is_cut_off(address: tuple[str, int]) -> None:
    """The server closes the connection once the headers pass their bound, long before the
    sender is done: sending 64 MiB of one header fails (a reset, as the rest went unread)."""
    with _connect(address) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            _send_64_mib(connection)


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, nothing sent
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never end
    ],
    ids=["nothing", "half the headers"],
)
def test_a_request_that_is_not_sent_gets_408(address: tuple[str, int], sent: bytes) -> None:
    with _connect(address) as connection:
        connection.sendall(sent)
        status, error = _status_and_error(_read_all(connection))
    assert status == 408
    assert error["code"] == "request_timeout"


def test_a_body_that_stops_coming_closes_the_connection(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nhalf")
        assert _read_all(connection) == b""  # closed: the app saw the client leave


def test_an_idle_keep_alive_connection_is_closed(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        _get(connection)
        reply = _read_all(connection)  # the answer, then the close after keep_alive_s
    assert reply.startswith(b"HTTP/1.1 200")


def test_connections_over_the_cap_are_refused_at_once(address: tuple[str, int]) -> None:
    held = [_connect(address) for _ in range(LIMITS.max_connections)]
    try:
        for connection in held:  # each is accepted and served
            _get(connection)
            assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        with _connect(address) as extra:
            status, error = _status_and_error(_read_all(extra))
        assert status == 503
        assert error["code"] == "too_many_connections"
    finally:
        for connection in held:
            connection.close()
    # Closed ones make room again (the server sees the closes on its next turns).
    for _ in range(100):
        with _connect(address) as connection:
            _get(connection, b"Connection: close\r\n")
            if _read_all(connection).startswith(b"HTTP/1.1 200"):
                return
    raise AssertionError("the server never served a new connection after others closed")


def test_what_is_not_http_gets_an_openai_error(address: tuple[str, int]) -> None:
    with _connect(address) as connection:
        connection.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
        status, error = _status_and_error(_read_all(connection))
    assert status == 400
    assert error["code"] == "invalid_http_request"
