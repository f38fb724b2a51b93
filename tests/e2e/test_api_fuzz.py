"""Property: whatever JSON body a client sends to a running daemon's /v1/embeddings,
/v1/chat/completions and /v1/responses, and whatever headers, it gets an answer — a 2xx, or
a 4xx with an OpenAI error object — never a 5xx, never a dropped connection, and the daemon
logs no traceback and answers a normal request afterwards.

Each surface runs a few dozen examples (generations are kept to a few tokens: the packaged
model is small but two cores are slow); ``--hypothesis-profile=long`` runs as many as that
profile asks.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ainos.ai.ml import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL
from ainos.kernel.control import Client

from .conftest import wait_for_socket


def _examples(default: int) -> int:
    """``default`` under hypothesis's default profile, else the loaded profile's count."""
    loaded = settings().max_examples
    return default if loaded == settings.get_profile("default").max_examples else loaded


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=_examples(examples),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["\ud800", "x\udfff", "\x00", "\u202e"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
texts = st.text(min_size=1, max_size=40)
# Hostile values a field gets beside any JSON value: limits past a C int, a long integer,
# strings that are no text, deep nesting.
edge_values = st.sampled_from(
    [
        2**31,
        2**32 + 4,
        10**18,
        -(10**18),
        10**19,
        1e18,
        1e308,
        "\ud800",
        "a\udc00b",
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    ]
)
schemas = st.sampled_from(
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "object", "properties": {"n": {"type": "integer"}}},
        {"type": "string", "enum": ["x", "y"]},
        {},
    ]
)
functions = st.fixed_dictionaries(
    {"name": st.sampled_from(["get_weather", "lookup"])},
    optional={"description": texts, "parameters": schemas},
)
chat_messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": texts}
    ),
    max_size=2,
).map(lambda history: [*history, {"role": "user", "content": "Say hi."}])
response_items = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "developer"]), "content": texts},
        optional={"type": st.just("message")},
    ),
    min_size=1,
    max_size=3,
)
priorities = st.sampled_from(["realtime", "interactive", "batch", "idle"])


@dataclass(frozen=True)
class Surface:
    """A route's fields: a valid value for each (``required`` always sent, the rest at
    random), and the fields whose hostile values must stay bounded (a token limit that is
    valid is small, a deadline that is valid is long)."""

    valid: dict[str, st.SearchStrategy[Any]]
    required: tuple[str, ...]
    tamed: dict[str, st.SearchStrategy[Any]]


# A valid limit is a few tokens; these are what a hostile client sends instead.
_BAD_LIMITS = st.sampled_from([0, -1, 2**31, 2**32 + 4, 10**18, 10**19, "3", 1.5, 1e18, True, []])
# A valid deadline is a generous one (a short one is a 504 the client asked for).
_BAD_DEADLINES = st.sampled_from(["soon", -1, 0, 3_600_001, True, [], {}, 10**19])
_COMMON = {
    "user": texts,
    "priority": priorities,
    "deadline_ms": st.integers(600_000, 3_600_000),
}
EMBEDDINGS = Surface(
    valid={
        **_COMMON,
        "model": st.just(DEFAULT_EMBEDDING_MODEL),
        "input": texts | st.lists(texts, min_size=1, max_size=4),
        "encoding_format": st.sampled_from(["float", "base64"]),
        "dimensions": st.just(384),
    },
    required=("input",),
    tamed={"deadline_ms": _BAD_DEADLINES},
)
_SAMPLING = {
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "presence_penalty": st.floats(-2, 2),
    "frequency_penalty": st.floats(-2, 2),
    "seed": st.integers(0, 2**32 - 1),
    "stream": st.booleans(),
    "parallel_tool_calls": st.booleans(),
    "ainos_repetition_guard": st.booleans(),
    "dry_multiplier": st.floats(0, 5),
}
CHAT = Surface(
    valid={
        **_COMMON,
        **_SAMPLING,
        "model": st.just(DEFAULT_CHAT_MODEL),
        "messages": chat_messages,
        "max_tokens": st.integers(1, 2),
        "max_completion_tokens": st.integers(1, 2),
        "stop": st.lists(texts, max_size=4),
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
        "n": st.just(1),
        "tools": st.lists(
            st.fixed_dictionaries({"type": st.just("function"), "function": functions}),
            max_size=2,
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}])
        | st.fixed_dictionaries(
            {
                "type": st.just("json_schema"),
                "json_schema": st.fixed_dictionaries({"name": texts, "schema": schemas}),
            }
        ),
    },
    required=("messages", "max_tokens"),
    tamed={
        "max_tokens": _BAD_LIMITS,
        "max_completion_tokens": _BAD_LIMITS,
        "deadline_ms": _BAD_DEADLINES,
    },
)
RESPONSES = Surface(
    valid={
        **_COMMON,
        **_SAMPLING,
        "model": st.just(DEFAULT_CHAT_MODEL),
        "input": texts | response_items,
        "instructions": texts,
        "max_output_tokens": st.integers(1, 2),
        "tools": st.lists(
            st.fixed_dictionaries(
                {"type": st.just("function"), "name": st.sampled_from(["get_weather", "f"])},
                optional={"parameters": schemas, "strict": st.booleans()},
            ),
            max_size=2,
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "text": st.fixed_dictionaries(
            {
                "format": st.sampled_from([{"type": "text"}, {"type": "json_object"}])
                | st.fixed_dictionaries(
                    {"type": st.just("json_schema"), "name": texts, "schema": schemas}
                )
            }
        ),
        "previous_response_id": texts,
        "store": st.booleans(),
        "metadata": st.dictionaries(st.text(max_size=8), texts, max_size=2),
        "truncation": st.sampled_from(["auto", "disabled"]),
    },
    required=("input", "max_output_tokens"),
    tamed={"max_output_tokens": _BAD_LIMITS, "deadline_ms": _BAD_DEADLINES},
)


@st.composite
def bodies(draw: st.DrawFn, surface: Surface) -> dict[str, Any]:
    """A valid body, then (mostly) one field — or one unknown field — given a hostile
    value: so each field's checks are met one at a time, on a request that would run."""
    body = {
        name: draw(strategy)
        for name, strategy in surface.valid.items()
        if name in surface.required or draw(st.booleans())
    }
    spoiled = draw(st.none() | st.sampled_from([*surface.valid, "unknown_field"]))
    if spoiled is not None:
        body[spoiled] = draw(surface.tamed.get(spoiled, json_values | edge_values))
    return body


_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
header_names = st.sampled_from(
    [
        "Host",
        "Origin",
        "Content-Type",
        "Authorization",
        "X-Ainos-Priority",
        "X-Ainos-Deadline-Ms",
        "X-Ainos-Client",
        "Accept",
        "Connection",
        "Expect",
        "Upgrade",
    ]
) | st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=20)
header_values = st.sampled_from(
    [
        "127.0.0.1",
        "localhost:7411",
        "[::1]",
        "http://localhost:3000",
        "null",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "realtime",
        "900000",
        "0.001",
        "close",
        "websocket",
        "100-continue",
    ]
) | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
_FRAMING = {"content-length", "transfer-encoding"}  # http.client frames the body itself
headers_lists = st.lists(
    st.tuples(header_names, header_values).filter(lambda h: h[0].lower() not in _FRAMING),
    max_size=12,
)


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def assert_no_traceback(self) -> None:
        log = self.log.read_text(errors="replace")
        assert "Traceback" not in log, log[-4000:]


@pytest.fixture(scope="module")
def served(prepared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One daemon for the module, its stderr in a file (a pipe nobody reads would fill)."""
    home = tmp_path_factory.mktemp("fuzz-home")
    shutil.copytree(prepared_models / "cache", home / "cache")
    socket_path = home / "run" / "control.sock"
    log = home.parent / "fuzz-daemon.stderr"
    env = {**os.environ, "AINOS_HOME": str(home)}
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ainos",
                "serve",
                "--socket",
                str(socket_path),
                "--port",
                "0",
                "--pool-mib",
                "8",
                "--context",
                "512",
                "--llm-parallel",
                "2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        wait_for_socket(socket_path, process)  # type: ignore[arg-type]  # bytes, not text
        with Client(socket_path) as client:
            url = client.version().endpoints["http"]
        yield Served(process, url, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exchange(
    served: Served,
    method: str,
    path: str,
    body: bytes | None,
    headers: list[tuple[str, str]],
) -> tuple[int, str, bytes]:
    """One request on a new connection: its status, content type and whole body. A dropped
    connection raises (http.client's RemoteDisconnected, a reset)."""
    connection = http.client.HTTPConnection(*served.address(), timeout=120)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {name.lower() for name, _ in headers}
        if "host" not in names:
            connection.putheader("Host", "127.0.0.1")
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("content-type", ""), response.read()
    finally:
        connection.close()


def _check(served: Served, status: int, content_type: str, body: bytes) -> None:
    assert status < 500, body[:2000]
    if status >= 400:
        error = json.loads(body)["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        assert isinstance(error["message"], str)
    elif content_type.startswith("text/event-stream"):
        # SSE lines end at CR or LF only: a str's splitlines would also cut at U+0085 and
        # U+2028 that JSON may carry raw; bytes split at CR and LF alone.
        for line in (raw.decode() for raw in body.splitlines()):
            if line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[len("data: ") :])
    served.assert_no_traceback()


def _post_json(served: Served, path: str, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()  # NaN and Infinity too: refused as not JSON
    headers = [("Content-Type", "application/json")]
    _check(served, *_exchange(served, "POST", path, body, headers))


@fuzz(40)
@given(body=bodies(EMBEDDINGS))
def test_any_embeddings_body_gets_an_answer(served: Served, body: dict[str, Any]) -> None:
    _post_json(served, "/v1/embeddings", body)


@fuzz(20)  # each generates: fewer
@given(body=bodies(CHAT))
def test_any_chat_completions_body_gets_an_answer(served: Served, body: dict[str, Any]) -> None:
    _post_json(served, "/v1/chat/completions", body)


@fuzz(20)
@given(body=bodies(RESPONSES))
def test_any_responses_body_gets_an_answer(served: Served, body: dict[str, Any]) -> None:
    _post_json(served, "/v1/responses", body)


@fuzz(40)
@given(
    headers=headers_lists,
    target=st.sampled_from(
        [
            ("GET", "/v1/models", None),
            ("POST", "/v1/embeddings", b'{"input": "header fuzz"}'),
            (
                "POST",
                "/v1/chat/completions",
                b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}',
            ),
            ("GET", "/ainos/queue", None),
        ]
    ),
)
def test_any_headers_get_an_answer(
    served: Served, headers: list[tuple[str, str]], target: tuple[str, str, bytes | None]
) -> None:
    method, path, body = target
    _check(served, *_exchange(served, method, path, body, headers))


def test_the_daemon_serves_on_after_the_fuzzing(served: Served) -> None:
    """Runs last in the module: a plain request is answered, and nothing was logged as a
    traceback along the way."""
    body = {"input": "still here", "model": DEFAULT_EMBEDDING_MODEL}
    status, _, reply = _exchange(
        served,
        "POST",
        "/v1/embeddings",
        json.dumps(body).encode(),
        [("Content-Type", "application/json")],
    )
    assert status == 200
    assert len(json.loads(reply)["data"][0]["embedding"]) == 384
    served.assert_no_traceback()
