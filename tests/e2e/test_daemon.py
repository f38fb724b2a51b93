"""``ainos serve`` for real: client processes, pinned memory, crashes, garbage, shutdown."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ainos.errors import AinosError
from ainos.kernel.control import MAX_LINE_BYTES, Client
from ainos.protocol.control import ErrorCode
from ainos.protocol.scheduler import JobState

from .conftest import Daemon, start_daemon

# A client in its own process: it maps the pool, writes into a pinned block, and has the
# daemon read the block back through a job.
_WRITER = textwrap.dedent(
    """
    import json, sys
    from ainos.kernel.control import Client
    with Client(sys.argv[1]) as client:
        client.register_runtime("writer", "custom")
        handle = client.alloc_pinned(1 << 20)
        with client.attach_pool() as mapping:
            mapping.view(handle)[:11] = b"hello ainos"
        job = client.run("pinned.read", {"handle_id": handle.handle_id, "length": 11})
        print(json.dumps({"state": job.state, "result": job.result}))
    """
)

# A client that takes pinned blocks, says so, and waits to be killed.
_HOLDER = textwrap.dedent(
    """
    import sys, time
    from ainos.kernel.control import Client
    client = Client(sys.argv[1])
    for size in (4096, 65536, 1 << 20):
        client.alloc_pinned(size)
    print("holding", flush=True)
    time.sleep(600)
    """
)


def _raw_exchange(path: Path, payload: bytes) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(payload)
        return _read_json_line(sock)


def _read_json_line(sock: socket.socket, buffer: bytearray | None = None) -> dict[str, Any]:
    data = buffer if buffer is not None else bytearray()
    while b"\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the daemon closed the connection"
        data += chunk
    line, _, rest = bytes(data).partition(b"\n")
    if buffer is not None:
        buffer[:] = rest
    message = json.loads(line)
    assert isinstance(message, dict)
    return message


def test_socket_is_private(daemon: Daemon) -> None:
    mode = stat.S_IMODE(daemon.socket_path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(daemon.socket_path.parent.stat().st_mode) == 0o700


def test_two_client_processes_share_the_pool(daemon: Daemon) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WRITER, str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outcome = json.loads(result.stdout)
    assert outcome["state"] == JobState.COMPLETED
    import base64

    assert base64.b64decode(outcome["result"]) == b"hello ainos"
    with Client(daemon.socket_path) as observer:
        # the writer has gone: its block and registration went with it
        assert observer.get_memory_pool().block_count == 0
        assert observer.get_stats().registered_runtimes == 0


def test_a_killed_client_loses_its_blocks(daemon: Daemon) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(daemon.socket_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with Client(daemon.socket_path) as observer:
            assert observer.get_memory_pool().block_count == 3
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
            deadline = time.monotonic() + 30
            while observer.get_memory_pool().block_count and time.monotonic() < deadline:
                time.sleep(0.05)
            pool = observer.get_memory_pool()
            assert pool.block_count == 0
            assert pool.used_bytes == 0
    finally:
        holder.kill()
        holder.communicate()
    # The daemon logs what it did, one timestamped line: its info lines are shown by default.
    code, stderr = daemon.stop()
    assert code == 0
    line = r"^\S+ \S+ INFO ainos\.kernel\.control\S*: freed 3 pinned blocks"
    assert re.search(line, stderr, re.M)


def test_log_level_hides_the_daemons_info_lines(tmp_path: Path) -> None:
    quiet = start_daemon(tmp_path / "control.sock", "--pool-mib", "16", "--log-level", "warning")
    try:
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(quiet.socket_path)], stdout=subprocess.PIPE
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"holding"
        holder.kill()
        holder.communicate()
        with Client(quiet.socket_path) as observer:
            deadline = time.monotonic() + 30
            while observer.get_memory_pool().block_count and time.monotonic() < deadline:
                time.sleep(0.05)
            assert observer.get_memory_pool().block_count == 0
        code, stderr = quiet.stop()
    finally:
        quiet.kill_if_running()
    assert code == 0
    assert "freed" not in stderr
    assert " INFO " not in stderr


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x00\xff\xfe garbage\n", ErrorCode.PARSE_ERROR),
        (b"{}\n", ErrorCode.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"format_disk"}\n', ErrorCode.METHOD_NOT_FOUND),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"alloc_pinned","params":{"size":-5}}\n',
            ErrorCode.INVALID_PARAMS,
        ),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"alloc_pinned","params":{"size":1e15}}\n',
            ErrorCode.INVALID_PARAMS,
        ),
    ],
)
def test_malformed_input_gets_error_objects(daemon: Daemon, payload: bytes, code: int) -> None:
    response = _raw_exchange(daemon.socket_path, payload)
    assert response["jsonrpc"] == "2.0"
    assert response["error"]["code"] == code
    with Client(daemon.socket_path) as client:
        assert client.version().pid == daemon.process.pid  # the daemon is still up


@pytest.mark.parametrize("excess", [100, 300_000])  # ends in the last read, or reads later
def test_oversized_line_is_refused_and_the_connection_goes_on(daemon: Daemon, excess: int) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(60)
        sock.connect(str(daemon.socket_path))
        sock.sendall(b'{"junk":"' + b"x" * (MAX_LINE_BYTES + excess) + b'"}\n')
        buffer = bytearray()
        refused = _read_json_line(sock, buffer)
        assert refused["error"]["code"] == ErrorCode.INVALID_REQUEST
        assert "longer than" in refused["error"]["message"]
        sock.sendall(b'{"jsonrpc":"2.0","id":"next","method":"version"}\n')
        answer = _read_json_line(sock, buffer)
        assert answer["id"] == "next"
        assert answer["result"]["pid"] == daemon.process.pid


def test_a_batch_and_a_notification(daemon: Daemon) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(daemon.socket_path))
        sock.sendall(
            b'[{"jsonrpc":"2.0","id":1,"method":"version"},'
            b'{"jsonrpc":"2.0","method":"version"},'
            b'{"jsonrpc":"2.0","id":2,"method":"nope"}]\n'
        )
        data = bytearray()
        while not data.endswith(b"\n"):
            data += sock.recv(65536)
        responses = json.loads(data)
    assert [r["id"] for r in responses] == [1, 2]  # the notification gets no answer
    assert "result" in responses[0]
    assert responses[1]["error"]["code"] == ErrorCode.METHOD_NOT_FOUND


def test_job_events_are_pushed_to_the_submitter(daemon: Daemon) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    with Client(daemon.socket_path, on_notification=lambda m, p: events.append((m, p))) as client:
        job = client.submit("sleep", {"ms": 20}, notify=True)
        outcome = client.job_result(job.job_id)
        assert outcome.state == JobState.COMPLETED
        client.version()  # the event, sent as the job ended, arrives before this answer
    assert ("job_event", outcome.model_dump(mode="json")) in events


def test_a_second_daemon_on_the_same_socket_refuses(daemon: Daemon) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ainos", "serve", "--socket", str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"ainos: error: an ainos daemon (pid {daemon.process.pid}) is already serving "
        f"{daemon.socket_path}"
    ]


def test_status_reports_a_running_daemon(daemon: Daemon) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ainos", "status", "--json", "--socket", str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["running"] is True
    assert document["version"]["pid"] == daemon.process.pid
    assert document["stats"]["memory_pool"]["total_bytes"] == 16 * 1024 * 1024


def test_status_without_a_daemon(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ainos", "status", "--socket", str(tmp_path / "none.sock")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "not running" in result.stdout


def test_sigterm_drains_running_jobs_then_cleans_up(daemon: Daemon) -> None:
    client = Client(daemon.socket_path)
    try:
        client.alloc_pinned(4096)
        job = client.submit("sleep", {"ms": 400})
        daemon.process.send_signal(signal.SIGTERM)
        outcome = client.job_result(job.job_id)
        assert outcome.state == JobState.COMPLETED  # finished, not cut short
        with pytest.raises(AinosError):
            client.submit("noop")  # draining: no new work
    finally:
        client.close()
    _, stderr = daemon.process.communicate(timeout=30)
    assert daemon.process.returncode == 0, stderr
    assert "stopped" in stderr
    assert "Traceback" not in stderr
    assert not daemon.socket_path.exists()


def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "run" / "control.sock"
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    restarted = start_daemon(path, "--pool-mib", "4")
    try:
        with Client(path) as client:
            assert client.version().pid == restarted.process.pid
    finally:
        code, _ = restarted.stop()
    assert code == 0
    assert not os.path.exists(path)


def test_metrics_through_the_daemon_include_scheduler_and_pool(daemon: Daemon) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with Client(daemon.socket_path) as client:
        client.run("noop")
    result = subprocess.run(
        [sys.executable, "-m", "ainos", "metrics", "--socket", str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert families["ainos_scheduler_scheduled_tasks"].samples[0].value >= 1
    assert families["ainos_pinned_pool_bytes"].samples[0].value == 16 * 1024 * 1024
    assert "ainos_cpu_utilization_percent" in families
    assert families["ainos_scheduler_class_batch_size"].type == "histogram"


def test_two_daemons_on_sibling_sockets(daemon: Daemon) -> None:
    sibling = start_daemon(daemon.socket_path.with_name("other.sock"), "--pool-mib", "4")
    try:
        with Client(sibling.socket_path) as client:
            assert client.version().pid == sibling.process.pid
    finally:
        code, _ = sibling.stop()
    assert code == 0
    with Client(daemon.socket_path) as client:
        assert client.version().pid == daemon.process.pid
