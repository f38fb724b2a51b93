"""The client's HTTP/1.1 connection, against a real socket that answers scripted bytes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ainos.app.api._wire import Connection, ConnectionLost, ProtocolError

# What the scripted server does with one accepted connection.
Script = Callable[[socket.socket], None]


def _receive(peer: socket.socket) -> bytes:
    data = peer.recv(65536)
    if not data:
        raise ConnectionError("the client closed the connection")
    return data


def _read_request(peer: socket.socket) -> bytes:
    """One request's head and body as the server received them."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += _receive(peer)
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            while len(body) < int(value):
                body += _receive(peer)
    return data


@contextmanager
def _server(script: Script) -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        peer, _ = listener.accept()
        with peer, contextlib.suppress(ConnectionError):  # the client went: the script ends
            script(peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", port
    finally:
        # Joined before the listener closes: a client done at once may have been accepted
        # by the kernel before the thread got to accept() it.
        thread.join(timeout=10)
        listener.close()
    assert not thread.is_alive(), "the scripted server did not end"


def _reply(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nx-test: yes\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


def test_replies_are_read_and_the_connection_kept_alive() -> None:
    seen: list[bytes] = []

    def script(peer: socket.socket) -> None:
        for answer in (b'{"n": 1}', b'{"n": 2}'):
            seen.append(_read_request(peer))
            peer.sendall(_reply(answer))

    with _server(script) as (host, port):
        connection = Connection(host, port, timeout=10)
        first = connection.request("POST", "/v1/x", {"X-Ainos-Client": "me"}, b'{"a": 1}')
        assert (first.status, first.headers["x-test"]) == (200, "yes")
        assert first.read() == b'{"n": 1}'
        assert connection.reusable
        second = connection.request("GET", "/v1/y", {}, None)
        assert second.read() == b'{"n": 2}'
        connection.close()
    head, _, body = seen[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /v1/x HTTP/1.1"
    assert b"Host: 127.0.0.1:%d" % port in head
    assert b"Content-Length: 8" in head
    assert body == b'{"a": 1}'
    assert b"Content-Length" not in seen[1]  # a GET without a body says none


def test_a_chunked_reply_is_read_line_by_line_as_it_arrives() -> None:
    def script(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b'data: {"a"', b": 1}\n\ndata: [DO", b"NE]\n\n"):
            peer.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.01)
        peer.sendall(b"0\r\n\r\n")
        _read_request(peer)  # the connection stays usable after the stream

    with _server(script) as (host, port):
        connection = Connection(host, port, timeout=10)
        reply = connection.request("POST", "/s", {}, b"{}")
        lines = list(reply)
        assert lines == [b'data: {"a": 1}\n', b"\n", b"data: [DONE]\n", b"\n"]
        assert reply.complete
        assert connection.reusable
        connection.close()


def test_a_reply_that_closes_the_connection_leaves_it_unusable() -> None:
    def script(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(_reply(b"bye", b"connection: close\r\n"))

    with _server(script) as (host, port):
        connection = Connection(host, port, timeout=10)
        assert connection.request("GET", "/", {}, None).read() == b"bye"
        assert not connection.reusable
        with pytest.raises(ProtocolError, match="closed"):
            connection.request("GET", "/", {}, None)


def test_a_connection_closed_before_any_reply_is_lost_not_broken() -> None:
    """A kept-alive connection the server closed while idle: safe to send again."""
    with _server(lambda peer: None) as (host, port):
        connection = Connection(host, port, timeout=10)
        with pytest.raises(ConnectionLost):
            connection.request("GET", "/", {}, None)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", "in the middle of a reply"),
        (b"SMTP ready\r\n\r\n", "not valid HTTP"),
    ],
    ids=["cut-off", "not-http"],
)
def test_a_cut_or_invalid_reply_is_a_protocol_error(answer: bytes, message: str) -> None:
    def script(peer: socket.socket) -> None:
        _read_request(peer)
        peer.sendall(answer)

    with _server(script) as (host, port):
        connection = Connection(host, port, timeout=10)
        with pytest.raises(ProtocolError, match=message):
            connection.request("GET", "/", {}, None).read()
        assert not connection.reusable


@pytest.mark.parametrize(
    ("target", "headers"),
    [("/a b", {}), ("/a", {"x-name": "two\r\nlines"}), ("/a", {"x-name": "nul\x00"})],
    ids=["space-in-target", "newline-in-header", "control-in-header"],
)
def test_what_cannot_go_in_a_head_is_refused_before_sending(
    target: str, headers: dict[str, str]
) -> None:
    received: list[bytes] = []

    def script(peer: socket.socket) -> None:
        peer.settimeout(5)
        received.append(peer.recv(65536))

    with _server(script) as (host, port):
        connection = Connection(host, port, timeout=10)
        with pytest.raises(ValueError, match="cannot go in a request's head"):
            connection.request("GET", target, headers, None)
        connection.close()
    assert received == [b""]
