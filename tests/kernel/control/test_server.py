"""The control socket under hostile input, against a real ``ainos serve``: every line gets a
JSON-RPC answer, costs are bounded, and the connection goes on."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time

import pytest
from tests.control_daemon import Daemon, Line

from ainos.kernel.control import MAX_BATCH_REQUESTS, MAX_REPLY_BYTES, Client, ControlServer
from ainos.protocol.control import ErrorCode


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000,
        b"{" + b'"a":{' * 50_000,
        b'{"jsonrpc":"2.0","id":1,"method":"alloc_pinned","params":{"size":' + b"9" * 5000 + b"}}",
        # Decodable, but deeper than anything after the decoder may recurse over.
        b'{"jsonrpc":"2.0","id":1,"method":"submit","params":{"op":"echo","args":{"value":'
        + b"[" * 500
        + b"]" * 500
        + b"}}}",
        b'{"jsonrpc":"2.0","id":1,"method":"submit","params":{"op":"echo","args":{"value":NaN}}}',
        b'{"jsonrpc":"2.0","id":1,"method":"submit","params":{"op":"echo","args":{"value":1e999}}}',
    ],
    ids=["deep-array", "deep-object", "5000-digit-integer", "deep-params", "nan", "infinite"],
)
def test_json_beyond_the_decoder_is_a_parse_error_and_the_connection_goes_on(
    daemon: Daemon, line: bytes
) -> None:
    with Line(daemon.socket_path) as connection:
        connection.send(line + b"\n")
        reply = connection.read()
        assert reply["id"] is None
        assert reply["error"]["code"] == ErrorCode.PARSE_ERROR
        assert connection.request("version", request_id="next")["result"]["pid"] == (
            daemon.process.pid
        )
    assert "Traceback" not in daemon.log()


def test_a_batch_larger_than_the_cap_is_refused_whole(daemon: Daemon) -> None:
    size = MAX_BATCH_REQUESTS + 1
    batch = [{"jsonrpc": "2.0", "id": i, "method": "version"} for i in range(size)]
    with Line(daemon.socket_path) as connection:
        connection.send(json.dumps(batch).encode() + b"\n")
        reply = connection.read()
        assert reply["error"]["code"] == ErrorCode.INVALID_REQUEST
        assert reply["error"]["message"] == (
            f"Invalid Request: batch of {size} requests; at most {MAX_BATCH_REQUESTS}"
        )
        connection.send(json.dumps(batch[:MAX_BATCH_REQUESTS]).encode() + b"\n")
        answers = connection.read()
        assert [a["id"] for a in answers] == list(range(MAX_BATCH_REQUESTS))


def test_a_reply_larger_than_the_cap_becomes_an_error_object(daemon: Daemon) -> None:
    # An echo job returns what it was given; MAX_REPLY_BYTES / 4 bytes of text per job
    # under the line limit, its result read back five times in one batch: too much for
    # one line together, so the largest members become errors and the line fits.
    with Line(daemon.socket_path) as connection:
        text = "x" * (900 * 1024)
        submitted = connection.request(
            "submit", {"op": "echo", "args": {"value": text}, "wait_s": 30}
        )
        job_id = submitted["result"]["job_id"]
        assert submitted["result"]["state"] == "completed"
        copies = MAX_REPLY_BYTES // len(text) + 2
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "job_status", "params": {"job_id": job_id}}
            for i in range(copies)
        ]
        connection.send(json.dumps(batch).encode() + b"\n")
        line = connection.read_bytes()
        assert len(line) <= MAX_REPLY_BYTES
        answers = json.loads(line)
        assert [a["id"] for a in answers] == list(range(copies))
        refused = [a for a in answers if "error" in a]
        assert refused
        assert all(a["result"]["result"] == text for a in answers if "result" in a)
        assert refused[0]["error"]["data"]["type"] == "ReplyTooLarge"
        assert f"limit of {MAX_REPLY_BYTES} bytes" in refused[0]["error"]["message"]
        assert connection.request("version")["result"]["pid"] == daemon.process.pid


def test_many_fast_connects_wait_in_the_backlog(daemon: Daemon) -> None:
    # The daemon stopped: nothing accepts, so every connection the queue cannot hold is
    # refused at once (non-blocking connect on a full queue: EAGAIN).
    os.kill(daemon.process.pid, signal.SIGSTOP)
    sockets: list[socket.socket] = []
    refused = 0
    try:
        for _ in range(500):
            sock = socket.socket(socket.AF_UNIX)
            sock.setblocking(False)
            try:
                sock.connect(str(daemon.socket_path))
            except BlockingIOError:
                refused += 1
                sock.close()
                continue
            sockets.append(sock)
    finally:
        os.kill(daemon.process.pid, signal.SIGCONT)
    try:
        assert refused == 0
        for sock in sockets[:5]:
            sock.setblocking(True)
            sock.settimeout(60)
            sock.sendall(b'{"jsonrpc":"2.0","id":1,"method":"version"}\n')
            assert json.loads(sock.recv(65536))["result"]["pid"] == daemon.process.pid
    finally:
        for sock in sockets:
            sock.close()


def test_a_client_leaving_mid_exchange_is_one_info_line(
    local_server: ControlServer, caplog: pytest.LogCaptureFixture
) -> None:
    # attach_pool answers with a descriptor: a client gone by then makes the send fail.
    caplog.set_level(logging.INFO, logger="ainos.kernel.control")
    for _ in range(20):
        with Line(local_server.path) as connection:
            connection.send(b'{"jsonrpc":"2.0","id":1,"method":"attach_pool"}\n' * 50)
    deadline = time.monotonic() + 30
    while not (disconnects := [r for r in caplog.records if "disconnected" in r.getMessage()]):
        assert time.monotonic() < deadline, "no disconnect was logged"
        time.sleep(0.05)
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in disconnects)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_disconnects_leave_no_traceback_in_the_daemon_log(daemon: Daemon) -> None:
    for _ in range(20):
        with Line(daemon.socket_path) as connection:
            connection.send(b'{"jsonrpc":"2.0","id":1,"method":"attach_pool"}\n' * 50)
    with Client(daemon.socket_path) as client:
        assert client.version().pid == daemon.process.pid
        while client.get_stats().clients > 1:
            pass
    assert "Traceback" not in daemon.log()
