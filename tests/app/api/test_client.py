"""The daemon's API client: finding the API without a control-socket round trip, server-sent
events, OpenAI error objects as ainos errors; and against a real daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
        api = DaemonApi(url, client_name="test")
        assert api.load_model("all-minilm-l6-v2")["alias"] == "all-minilm-l6-v2"
        assert [m["alias"] for m in api.models()] == ["all-minilm-l6-v2"]
        with pytest.raises(ModelNotFound):
            api.load_model("nope")
    assert not endpoint_file(daemon.socket_path).exists()  # withdrawn as it stopped
