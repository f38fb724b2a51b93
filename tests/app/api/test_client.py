"""The daemon's API client: finding the API without a control-socket round trip, server-sent
events, OpenAI error objects as ainos errors; and against a real daemon."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from ainos.app.api import (
    DaemonApi,
    api_error,
    daemon_api_url,
    endpoint_file,
    publish_endpoint,
    server_sent_events,
    withdraw_endpoint,
)
from ainos.errors import (
    AinosError,
    ContextLengthExceeded,
    InvalidArgument,
    ModelNotFound,
    PermissionDenied,
    QueueFull,
)


def test_a_published_address_is_used_without_the_socket(tmp_path: Path) -> None:
    socket = tmp_path / "control.sock"  # nothing listens here
    publish_endpoint(socket, "http://127.0.0.1:9")
    assert endpoint_file(socket).name == "control.sock.http.json"
    assert daemon_api_url(socket) == "http://127.0.0.1:9"
    withdraw_endpoint(socket)
    assert not endpoint_file(socket).exists()
    assert daemon_api_url(socket) is None  # and no daemon answers on the socket


def test_an_address_left_by_a_dead_daemon_is_ignored(tmp_path: Path) -> None:
    socket = tmp_path / "control.sock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    endpoint_file(socket).write_text(json.dumps({"url": "http://x", "pid": int(dead.stdout)}))
    assert daemon_api_url(socket) is None


def test_withdraw_keeps_another_daemons_address(tmp_path: Path) -> None:
    socket = tmp_path / "control.sock"
    endpoint_file(socket).write_text(json.dumps({"url": "http://x", "pid": os.getppid()}))
    withdraw_endpoint(socket)
    assert endpoint_file(socket).exists()


def test_server_sent_events_up_to_done() -> None:
    lines = [b": comment\n", b'data: {"a": 1}\n', b"\n", b'data: {"b": 2}\n', b"data: [DONE]\n",
             b'data: {"never": 3}\n']  # fmt: skip
    assert list(server_sent_events(lines)) == [{"a": 1}, {"b": 2}]
    with pytest.raises(QueueFull):
        list(server_sent_events([b'data: {"error": {"message": "busy", "code": "queue_full"}}']))


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ({"code": "context_length_exceeded", "message": "too long"}, 400, ContextLengthExceeded),
        ({"code": "model_not_found", "message": "no"}, 404, ModelNotFound),
        ({"message": "busy"}, 429, QueueFull),
        ({"message": "who?"}, 401, PermissionDenied),
        ({"type": "invalid_request_error", "message": "bad"}, 400, InvalidArgument),
        ({"message": "boom"}, 500, AinosError),
    ],
)
def test_error_objects_become_ainos_errors(
    error: dict[str, str], status: int, kind: type[AinosError]
) -> None:
    assert type(api_error(error, status)) is kind


def test_against_a_daemon(seeded_home: Path) -> None:
    from ainos.app.bench._daemon import running_daemon

    with running_daemon() as daemon:
        url = daemon_api_url(daemon.socket_path)
        assert url is not None
        published = json.loads(endpoint_file(daemon.socket_path).read_text())
        assert published == {"url": url, "pid": daemon.process.pid}
        with DaemonApi(url, client_name="test") as api:
            assert api.load_model("all-minilm-l6-v2")["alias"] == "all-minilm-l6-v2"
            assert [m["alias"] for m in api.models()] == ["all-minilm-l6-v2"]
            with pytest.raises(ModelNotFound):
                api.load_model("nope")
    assert not endpoint_file(daemon.socket_path).exists()  # withdrawn as it stopped


class _Handler(BaseHTTPRequestHandler):
    """A stand-in API: JSON echoes of which connection served it; ``/quiet-close`` answers
    and then closes the connection without saying so (as a server's idle timeout does)."""

    protocol_version = "HTTP/1.1"
    served: ClassVar[list[tuple[int, str]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, document: object, *, close: bool = False) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = close

    def do_GET(self) -> None:
        port = self.client_address[1]
        self.served.append((port, self.path))
        if self.path == "/missing":
            self._reply(404, {"error": {"message": "no such thing", "code": "model_not_found"}})
        else:
            self._reply(200, {"port": port}, close=self.path == "/quiet-close")

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(body["events"]):
            event = f"data: {json.dumps({'n': n})}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        done = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))


@pytest.fixture
def stand_in_api() -> Iterator[str]:
    _Handler.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_of_one_thread_share_a_keep_alive_connection(stand_in_api: str) -> None:
    with DaemonApi(stand_in_api) as api:
        ports = {api.json("GET", "/a")["port"] for _ in range(3)}
        assert list(api.stream("/s", {"events": 2})) == [{"n": 0}, {"n": 1}]
        with pytest.raises(ModelNotFound):  # an error reply read whole keeps it too
            api.json("GET", "/missing")
        ports.add(api.json("GET", "/b")["port"])
        assert len(ports) == 1
        other: list[int] = []
        worker = threading.Thread(target=lambda: other.append(api.json("GET", "/c")["port"]))
        worker.start()
        worker.join()
        assert len(other) == 1
        assert other[0] not in ports  # another thread, its own connection


def test_a_request_goes_out_in_one_write(
    stand_in_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    sendall = socket.socket.sendall
    port = int(stand_in_api.rsplit(":", 1)[1])

    def counted(self: socket.socket, data: bytes, flags: int = 0) -> None:
        if self.getpeername()[1] == port:  # the client's writes, not the stand-in's
            writes.append(bytes(data))
        sendall(self, data, flags)

    with DaemonApi(stand_in_api) as api:
        api.json("GET", "/warm")  # the connection is open
        monkeypatch.setattr(socket.socket, "sendall", counted)
        assert list(api.stream("/s", {"events": 1})) == [{"n": 0}]
    assert len(writes) == 1  # head and body together: one wake-up of the server, not two
    assert writes[0].startswith(b"POST /s HTTP/1.1\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"events": 1}')


def test_a_connection_the_server_closed_is_reopened_once(stand_in_api: str) -> None:
    with DaemonApi(stand_in_api) as api:
        first = api.json("GET", "/quiet-close")["port"]
        second = api.json("GET", "/after")["port"]  # sent on the dead one first, then again
        assert second != first
        assert [path for _, path in _Handler.served] == ["/quiet-close", "/after"]


def test_a_stream_left_halfway_does_not_poison_the_next_request(stand_in_api: str) -> None:
    with DaemonApi(stand_in_api) as api:
        events = api.stream("/s", {"events": 50})
        assert next(events) == {"n": 0}
        events.close()
        assert list(api.stream("/s", {"events": 1})) == [{"n": 0}]


def test_an_unreachable_api_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(AinosError, match="cannot reach the daemon's API"):
            DaemonApi(f"http://127.0.0.1:{port}").json("GET", "/v1/models")
    with pytest.raises(InvalidArgument):
        DaemonApi("unix:///tmp/x")
