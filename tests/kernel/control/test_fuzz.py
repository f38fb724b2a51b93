"""Property: every line a client sends to a running daemon's control socket — any JSON value,
bytes that are not JSON, requests for any method with any params, batches — is answered with
JSON-RPC responses, the connection goes on, and the daemon logs no traceback.

Runs hypothesis's default number of examples; ``--hypothesis-profile=long`` runs more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.control_daemon import Daemon, Line, start_daemon, stop_daemon

from ainos.protocol.control import METHODS

SENTINEL = "sentinel"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
request_ids = st.none() | st.integers() | st.text(max_size=8) | st.booleans() | st.floats()


@st.composite
def params_for(draw: st.DrawFn, method: str) -> Any:
    """Params of ``method``'s own field names (or others), with any values; a few values are
    tamed so a valid call cannot reach outside the daemon or hold the line for long."""
    spec = METHODS.get(method)
    names = list(spec.params.model_fields) if spec is not None else []
    keys = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    params = draw(st.dictionaries(keys, json_values, max_size=4) | json_values)
    if not isinstance(params, dict):
        return params
    if method == "boost_priority":
        params["os_scheduling"] = False  # never renice a real process of this machine
    if method == "submit":
        params["op"] = draw(st.sampled_from(["noop", "echo", "pinned.read", "sleep"]) | st.text())
        if params["op"] == "sleep":
            params["args"] = {"ms": 1}
    for bounded in ("wait_s", "timeout_s"):  # waiting is their job: keep it short
        value = params.get(bounded)
        if isinstance(value, int | float) and not isinstance(value, bool):
            params[bounded] = min(abs(value), 0.2)
    return params


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(sorted(METHODS)) | st.text(max_size=20))
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if draw(st.booleans()):
        message["params"] = draw(params_for(method))
    if draw(st.integers(0, 9)):  # mostly requests; now and then a notification
        message["id"] = draw(request_ids)
    if not draw(st.integers(0, 9)):  # and now and then a broken envelope
        message[draw(st.sampled_from(["jsonrpc", "method", "extra"]))] = draw(json_values)
    return message


def _encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """Arrays nested ``depth`` deep, closed or not, alone or as a request's params."""
    depth = draw(st.integers(1, 20_000))
    value = b"[" * depth + (b"]" * depth if draw(st.booleans()) else b"")
    method = draw(st.sampled_from(sorted(METHODS))).encode()
    if draw(st.booleans()):
        return value
    return b'{"jsonrpc":"2.0","id":1,"method":"' + method + b'","params":{"value":' + value + b"}}"


@st.composite
def huge_numbers(draw: st.DrawFn) -> bytes:
    digits = b"9" * draw(st.integers(1, 6000))
    constant = draw(st.sampled_from([digits, b"-" + digits, b"NaN", b"Infinity", b"1e999"]))
    method = draw(st.sampled_from(sorted(METHODS))).encode()
    key = draw(st.sampled_from(["size", "pid", "handle_id", "memory_bytes", "timeout_s"])).encode()
    return (
        b'{"jsonrpc":"2.0","id":1,"method":"'
        + method
        + b'","params":{"'
        + key
        + b'":'
        + (constant + b"}}")
    )


lines = st.one_of(
    nested(),
    huge_numbers(),
    json_values.map(_encoded),
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ")),
    requests().map(_encoded),
    st.lists(requests() | json_values, min_size=1, max_size=6).map(_encoded),
    st.lists(requests(), min_size=90, max_size=150).map(_encoded),  # about the batch cap
)


@pytest.fixture(scope="module")
def fuzzed_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    directory = tmp_path_factory.mktemp("fuzzed-daemon")
    env = {**os.environ, "AINOS_HOME": str(directory / "home")}
    daemon = start_daemon(directory, "--pool-mib", "8", env=env)
    yield daemon
    stop_daemon(daemon)


def _is_response(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "id" not in message:
        return False
    if ("result" in message) == ("error" in message):
        return False
    error = message.get("error")
    return error is None or (
        isinstance(error, dict)
        and isinstance(error.get("code"), int)
        and isinstance(error.get("message"), str)
    )


def _expects_an_answer(line: bytes) -> bool:
    """Whether the spec obliges the server to answer: anything but notifications (objects
    without an id), batches made of nothing else, and blank lines (skipped as keep-alives)."""
    if not line.strip():
        return False
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        return True
    members = document if isinstance(document, list) and document else [document]
    return any(not isinstance(m, dict) or "id" in m for m in members)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(line=lines)
def test_every_line_is_answered_and_the_daemon_goes_on(fuzzed_daemon: Daemon, line: bytes) -> None:
    with Line(fuzzed_daemon.socket_path, timeout=60) as connection:
        connection.send(line + b"\n")
        connection.send(_encoded({"jsonrpc": "2.0", "id": SENTINEL, "method": "get_stats"}) + b"\n")
        answers = 0
        while True:
            message = connection.read()
            if isinstance(message, dict) and message.get("id") == SENTINEL:
                assert "result" in message, message
                break
            if isinstance(message, dict) and message.get("method") == "job_event":
                continue  # a job submitted with notify=true says it ended
            members = message if isinstance(message, list) else [message]
            assert members, message
            assert all(_is_response(m) for m in members), message
            answers += 1
    if _expects_an_answer(line):
        assert answers >= 1, line
    assert fuzzed_daemon.process.poll() is None
    log = fuzzed_daemon.log()
    assert "Traceback" not in log, log
