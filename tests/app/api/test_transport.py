"""Joined response writes: unit behaviour over a recording transport, then the real server."""

from __future__ import annotations

import asyncio
import http.client
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ainos.app.api._server import HttpServer
from ainos.app.api._transport import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket transport: records what reaches it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return sum(len(data) for call, data in self.calls if call == "write")


async def _one_turn() -> None:
    await asyncio.sleep(0)


def test_writes_in_one_turn_reach_the_socket_as_one_write() -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert inner.calls == []  # held until the turn ends
        await _one_turn()
        transport.write(b"next")
        await _one_turn()
        return inner.calls

    assert asyncio.run(scenario()) == [
        ("write", b"HTTP/1.1 200 OK\r\n\r\nbody"),
        ("write", b"next"),
    ]


def test_close_and_buffer_queries_flush_first() -> None:
    async def scenario() -> tuple[int, list[tuple[str, bytes]]]:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"abc")
        size = transport.get_write_buffer_size()
        transport.write(b"last")
        transport.close()
        await _one_turn()  # the scheduled flush finds nothing left to send
        return size, inner.calls

    size, calls = asyncio.run(scenario())
    assert size == 3
    assert calls == [("write", b"abc"), ("write", b"last"), ("close", b"")]


def test_a_lost_connection_drops_the_buffer_and_abort_discards_it() -> None:
    async def scenario() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        lost = RecordingTransport()
        transport = CoalescingTransport(lost, asyncio.get_running_loop())
        transport.write(b"for a peer that has gone")
        lost.closing = True  # the connection was lost before the turn ended
        await _one_turn()

        aborted = RecordingTransport()
        transport = CoalescingTransport(aborted, asyncio.get_running_loop())
        transport.write(b"never sent")
        transport.abort()
        await _one_turn()
        return lost.calls, aborted.calls

    lost_calls, aborted_calls = asyncio.run(scenario())
    assert lost_calls == []
    assert aborted_calls == [("abort", b"")]


# -- the real server (uvicorn on uvloop) ---------------------------------------------------


async def _json(request: Request) -> Response:
    return JSONResponse({"n": int(request.query_params.get("n", "0"))})


async def _slow(request: Request) -> Response:
    await asyncio.sleep(0.2)
    return JSONResponse({"late": True})


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(5):
            yield f"chunk {index}\n".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture
def server() -> Iterator[HttpServer]:
    app = Starlette(
        routes=[Route("/json", _json), Route("/slow", _slow), Route("/stream", _stream)]
    )
    http_server = HttpServer(app, "127.0.0.1", 0).start()
    try:
        yield http_server
    finally:
        # uvloop warns of a transport left unclosed when the server's loop closes: an error
        # under our settings.
        http_server.stop()


def test_keep_alive_responses_and_a_client_closing_just_before_stop(server: HttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for n in range(20):
        connection.request("GET", f"/json?n={n}")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, f'{{"n":{n}}}'.encode())
    connection.close()
    server.stop()


def test_pipelined_requests_are_answered_in_order(server: HttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"".join(f"GET /json?n={n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(5))
        )
        received = b""
        while received.count(b'{"n":') < 5 or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection early"
            received += chunk
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [f'{{"n":{n}}}'.encode() for n in range(5)]


def test_streamed_chunks_arrive_whole_and_in_order(server: HttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/stream")
    response = connection.getresponse()
    assert response.read() == b"".join(f"chunk {index}\n".encode() for index in range(5))
    connection.close()


def test_a_client_gone_before_its_response_leaves_the_server_serving(server: HttpServer) -> None:
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.close()
    time.sleep(0.4)  # the slow responses are written after their clients have gone
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/json?n=7")
    assert connection.getresponse().read() == b'{"n":7}'
    connection.close()
