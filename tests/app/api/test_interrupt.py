"""A client that hangs up cancels its work: a whole-reply chat completion and an embeddings
request, each left by a real client over a real socket while the model works on it."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.api_server import serving_runtime

from ainos.ai.ml import DEFAULT_CHAT_MODEL, EmbeddingLimits
from ainos.app.api import ApiConfig
from ainos.app.runtime import RuntimeConfig
from ainos.kernel.control import ServicesConfig

EMBEDDING_MODEL = "all-minilm-l6-v2"
WAIT_S = 120  # a bound on waiting for the server, never a measurement


def _embedding_server(prepared_models: Path, limits: EmbeddingLimits) -> Iterator[str]:
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        api=ApiConfig(default_embedding_model=EMBEDDING_MODEL),
        embedding_limits=limits,
    )
    with serving_runtime(prepared_models, config) as http:
        yield http.url


@pytest.fixture(scope="module")
def embedding_url(prepared_models: Path) -> Iterator[str]:
    yield from _embedding_server(prepared_models, EmbeddingLimits())


@pytest.fixture(scope="module")
def one_at_a_time_url(prepared_models: Path) -> Iterator[str]:
    """A model that takes one request at a time: the next waits its turn in a thread."""
    yield from _embedding_server(prepared_models, EmbeddingLimits(max_concurrent=1))


def _metric(url: str, family: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    for metric in text_string_to_metric_families(text):
        for sample in metric.samples:
            if sample.name == family and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def _wait_for(condition: str, check: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError(f"the server never got to: {condition}")


def _send_and_leave(url: str, path: str, body: dict[str, object], started: object) -> None:
    """POST ``body``, wait until the server works on it, then close the connection."""
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    with socket.create_connection((host, int(port)), timeout=WAIT_S) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        _wait_for("working on the request", started)


def test_a_chat_completion_left_by_its_client_is_cancelled(llm_http_url: str) -> None:
    url, model = llm_http_url, DEFAULT_CHAT_MODEL
    cancelled = _metric(url, "ainos_llm_requests_total", model=model, outcome="cancelled")
    # A schema the model cannot end early: the reply runs until it is cancelled.
    numbers = {
        "type": "object",
        "properties": {"n": {"type": "array", "items": {"type": "integer"}, "minItems": 400}},
        "required": ["n"],
    }
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Count from 1 to 2000."}],
        "max_tokens": 1500,
        "temperature": 0,
        "ainos_repetition_guard": False,
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": numbers}},
    }
    _send_and_leave(
        url,
        "/v1/chat/completions",
        body,
        lambda: _metric(url, "ainos_llm_requests_in_flight", model=model) == 1,
    )
    _wait_for(
        "the generation ended",
        lambda: _metric(url, "ainos_llm_requests_in_flight", model=model) == 0,
    )
    after = _metric(url, "ainos_llm_requests_total", model=model, outcome="cancelled")
    assert after == cancelled + 1


TEXTS = [f"text number {i}: " + "a few words about schedulers " * 15 for i in range(2048)]


def _warm(url: str) -> None:
    warm = urllib.request.Request(
        f"{url}/v1/embeddings",
        data=json.dumps({"input": "load the model"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(warm, timeout=WAIT_S).read()


def _gate(url: str, what: str) -> int:
    with urllib.request.urlopen(f"{url}/ainos/queue", timeout=30) as response:
        return int(json.loads(response.read())["models"][EMBEDDING_MODEL][what])


def test_an_embeddings_request_left_by_its_client_is_cancelled(embedding_url: str) -> None:
    url, model = embedding_url, EMBEDDING_MODEL
    _warm(url)
    _send_and_leave(url, "/v1/embeddings", {"input": TEXTS}, lambda: _gate(url, "in_flight") == 1)
    _wait_for("the request ended", lambda: _gate(url, "in_flight") == 0)
    assert _metric(url, "ainos_model_requests_total", model=model, outcome="cancelled") == 1
    assert _metric(url, "ainos_model_requests_total", model=model, outcome="ok") == 1


def test_a_request_waiting_its_turn_in_a_thread_is_cancelled_too(one_at_a_time_url: str) -> None:
    """The second request waits at the model's gate in a worker thread; its client leaves
    first: when its turn comes, its jobs are cancelled, not run."""
    url, model = one_at_a_time_url, EMBEDDING_MODEL
    _warm(url)
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps({"input": TEXTS}).encode()
    head = (
        f"POST /v1/embeddings HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=WAIT_S) as running:
        running.sendall(head + data)
        _wait_for("running the first", lambda: _gate(url, "in_flight") == 1)
        with socket.create_connection((host, int(port)), timeout=WAIT_S) as waiting:
            waiting.sendall(head + data)
            _wait_for("the second waiting", lambda: _gate(url, "waiting") == 1)
    _wait_for(
        "both ended",
        lambda: _gate(url, "in_flight") == 0 and _gate(url, "waiting") == 0,
    )
    _wait_for(
        "both counted",
        lambda: _metric(url, "ainos_model_requests_total", model=model, outcome="cancelled") == 2,
    )
    assert _metric(url, "ainos_model_requests_total", model=model, outcome="ok") == 1
