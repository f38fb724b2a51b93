"""``ainos serve``'s OpenAI-compatible API and the CLI in daemon mode, for real."""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import openai
import pytest
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.kernel.control import Client

from .conftest import Daemon, start_daemon

MODEL = "all-minilm-l6-v2"


@pytest.fixture
def served(seeded_home: Path, tmp_path: Path) -> Iterator[tuple[Daemon, str]]:
    daemon = start_daemon(tmp_path / "run" / "control.sock", "--pool-mib", "8")
    try:
        with Client(daemon.socket_path) as client:
            url = client.version().endpoints["http"]
        yield daemon, url
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def _ainos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ainos", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_openai_client_against_the_daemon(served: tuple[Daemon, str]) -> None:
    _, url = served
    assert url.startswith("http://127.0.0.1:")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0)
    assert MODEL in [m.id for m in client.models.list()]
    response = client.embeddings.create(model=MODEL, input=["one", "two words"])
    assert len(response.data) == 2
    assert len(response.data[0].embedding) == 384
    assert response.usage.prompt_tokens > 0


def test_cli_in_daemon_mode(served: tuple[Daemon, str]) -> None:
    daemon, _ = served
    socket = str(daemon.socket_path)
    loaded = _ainos("models", "load", MODEL, "--socket", socket)
    assert loaded.returncode == 0, loaded.stderr
    assert "in the daemon" in loaded.stderr
    listed = json.loads(_ainos("models", "list", "--json", "--socket", socket).stdout)
    assert listed[0]["loaded"] is True
    embedded = _ainos("embed", "through the socket", "--json", "--socket", socket)
    assert embedded.returncode == 0, embedded.stderr
    vector = np.array(json.loads(embedded.stdout)["data"][0]["embedding"])
    assert vector.shape == (384,)
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-4
    assert _ainos("models", "unload", MODEL, "--socket", socket).returncode == 0


def test_a_public_host_needs_a_token(tmp_path: Path) -> None:
    result = _ainos("serve", "--socket", str(tmp_path / "c.sock"), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "set --token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--allow-origin", "app.example"),
        ("--allow-origin", "http://[::1"),
        ("--allow-origin", "https://app.example/path"),
        ("--allow-host", "http://ainos.internal/"),
    ],
)
def test_a_malformed_allowed_name_is_one_error_line(
    tmp_path: Path, option: str, value: str
) -> None:
    result = _ainos("serve", "--socket", str(tmp_path / "c.sock"), option, value)
    assert result.returncode == 2
    assert f"{option} must be" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_pinned_embeddings_from_another_process(served: tuple[Daemon, str]) -> None:
    """A client process stages token ids in its pinned block; the daemon's vectors arrive in
    another block; they equal what the HTTP API answers for the same text."""
    daemon, url = served
    script = """
import json, sys
from ainos.ai.ml import EmbeddingTokenizer, embed_through_pool, packaged_model_dir
from ainos.ai.ml._spec import read_sentence_encoder
from ainos.kernel.control import Client
tokenizer = EmbeddingTokenizer.for_encoder(read_sentence_encoder(packaged_model_dir()))
with Client(sys.argv[1]) as client, client.attach_pool() as mapping:
    vectors = embed_through_pool(
        client, mapping, tokenizer.encode(["shared memory"]), model="all-minilm-l6-v2",
        dimension=384,
    )
print(json.dumps(vectors[0].tolist()))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pinned = np.array(json.loads(result.stdout))
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0)
    over_http = client.embeddings.create(model=MODEL, input="shared memory").data[0].embedding
    np.testing.assert_allclose(pinned, over_http, atol=1e-5)


# -- the door, the limits and the drain, on a real daemon -----------------------------------


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _request(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(*_address(url), timeout=120)
    try:
        connection.putrequest(method, path, skip_host=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _status(url: str, path: str, headers: dict[str, str], body: bytes) -> int:
    """The status of a POST whose answer may be a JSON document or an event stream."""
    connection = http.client.HTTPConnection(*_address(url), timeout=120)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_the_mcp_sdk_client_passes_the_door(served: tuple[Daemon, str]) -> None:
    """/mcp sits behind the API's door too: the SDK's client (Host: 127.0.0.1:port, no
    Origin, JSON bodies) gets through it."""
    _, url = served

    async def tools() -> list[str]:
        async with McpClient(streamable_http_client(f"{url}/mcp"), mode="legacy") as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    assert "embed" in anyio.run(tools)


def test_allowed_hosts_and_origins_come_from_the_command_line(
    seeded_home: Path, tmp_path: Path
) -> None:
    daemon = start_daemon(
        tmp_path / "run" / "control.sock",
        "--pool-mib",
        "8",
        "--allow-host",
        "ainos.internal",
        "--allow-origin",
        "https://app.example",
    )
    try:
        with Client(daemon.socket_path) as client:
            url = client.version().endpoints["http"]
        assert _request(url, "GET", "/v1/models", {"Host": "ainos.internal:80"})[0] == 200
        page = {"Host": "127.0.0.1", "Origin": "https://app.example"}
        assert _request(url, "GET", "/v1/models", page)[0] == 200
        status, document = _request(url, "GET", "/v1/models", {"Host": "attacker.example"})
        assert status == 403
        assert document["error"]["code"] == "forbidden"
        hostile = {"Host": "127.0.0.1", "Origin": "https://attacker.example"}
        assert _request(url, "GET", "/v1/models", hostile)[0] == 403
        # /mcp lets in the same origins as the rest of the API.
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "page", "version": "1"},
        }
        ping = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
        ).encode()
        mcp = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        assert _status(url, "/mcp", page | mcp, ping) == 200
        assert _request(url, "POST", "/mcp", hostile | mcp, ping)[0] == 403
    finally:
        returncode, stderr = daemon.stop()
    assert returncode == 0, stderr


def _stream(url: str, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
    connection = http.client.HTTPConnection(*_address(url), timeout=120)
    connection.request(
        "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    assert response.status == 200
    return connection, response


def _events(response: Any) -> Iterator[str]:
    """The data lines of an SSE stream, until it ends."""
    while line := response.readline():
        if line.startswith(b"data: "):
            yield line[len(b"data: ") :].decode().strip()


def _in_flight(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ainos_llm_requests_in_flight"
    )


def test_sigterm_ends_open_streams_after_the_drain_timeout(
    seeded_home: Path, tmp_path: Path
) -> None:
    daemon = start_daemon(
        tmp_path / "run" / "control.sock",
        "--pool-mib",
        "8",
        "--context",
        "2048",
        "--llm-parallel",
        "2",
        "--drain-timeout",
        "1",
    )
    # A schema the model cannot end early (no end of text before 400 numbers): each reply
    # runs until the daemon ends it.
    numbers = {
        "type": "object",
        "properties": {"n": {"type": "array", "items": {"type": "integer"}, "minItems": 400}},
        "required": ["n"],
    }
    long_reply = {
        "model": DEFAULT_CHAT_MODEL,
        "temperature": 0,
        "stream": True,
        "ainos_repetition_guard": False,
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": numbers}},
    }
    ask = "Count from 1 to 2000."
    try:
        with Client(daemon.socket_path) as client:
            url = client.version().endpoints["http"]
        chat, chat_events = _stream(
            url,
            "/v1/chat/completions",
            {**long_reply, "messages": [{"role": "user", "content": ask}], "max_tokens": 1500},
        )
        responses, response_events = _stream(
            url,
            "/v1/responses",
            {
                **{k: v for k, v in long_reply.items() if k != "response_format"},
                "text": {"format": {"type": "json_schema", "name": "n", "schema": numbers}},
                "input": ask,
                "max_output_tokens": 1500,
            },
        )
        chat_lines, response_lines = _events(chat_events), _events(response_events)
        next(chat_lines)  # both generate
        next(response_lines)
        with ThreadPoolExecutor(1) as pool:
            # A third, whole-reply request waits for a slot (the two streams hold both).
            whole = {
                **long_reply,
                "stream": False,
                "max_tokens": 1500,
                "messages": [{"role": "user", "content": ask}],
            }
            waiting = pool.submit(
                _request,
                url,
                "POST",
                "/v1/chat/completions",
                {"Host": "127.0.0.1", "Content-Type": "application/json"},
                json.dumps(whole).encode(),
            )
            while _in_flight(url) < 3:
                assert not waiting.done(), waiting.result()
            daemon.process.send_signal(signal.SIGTERM)
            chat_rest, response_rest = list(chat_lines), list(response_lines)
            status, document = waiting.result(timeout=120)
        chat.close()
        responses.close()
        returncode, stderr = daemon.stop()
    finally:
        daemon.kill_if_running()
    assert status == 503
    assert document["error"]["code"] == "cancelled"
    last = json.loads(chat_rest[-1])
    assert set(last["error"]) == {"message", "type", "param", "code"}
    assert last["error"]["code"] == "cancelled"
    failed = json.loads(response_rest[-1])
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


def test_connections_stay_under_the_open_file_limit(served: tuple[Daemon, str]) -> None:
    """With its open-file limit lowered to what it uses + 300, the daemon is sent more idle
    connections than that: those over its cap are answered 503 at once, and no file it opens
    fails for want of a descriptor."""
    daemon, url = served
    pid = daemon.process.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 300, hard))
    held: list[socket.socket] = []
    try:
        held.extend(
            socket.create_connection(_address(url), timeout=60) for _ in range(in_use + 350)
        )
        with socket.create_connection(_address(url), timeout=60) as extra:
            reply = extra.recv(65536)
        assert reply.startswith(b"HTTP/1.1 503")
        assert b"too_many_connections" in reply
    finally:
        for connection in held:
            connection.close()
    with openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=3) as client:
        assert len(client.embeddings.create(model=MODEL, input="still serving").data) == 1
    returncode, stderr = daemon.stop()
    assert returncode == 0, stderr
    assert "Too many open files" not in stderr
    assert "Traceback" not in stderr


def test_a_client_leaving_mid_request_is_no_server_error(served: tuple[Daemon, str]) -> None:
    daemon, url = served
    with socket.create_connection(_address(url), timeout=60) as connection:
        connection.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"input": '
        )
    with openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0) as client:
        assert len(client.embeddings.create(model=MODEL, input="after").data) == 1
    returncode, stderr = daemon.stop()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "ERROR" not in stderr
