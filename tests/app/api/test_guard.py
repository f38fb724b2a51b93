"""The API's door against web pages (Host, Origin, JSON bodies), on a real server driven
the way a browser on a hostile page (or after DNS rebinding) would."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.api_server import serving_runtime

from ainos.app.api import ApiConfig
from ainos.app.runtime import RuntimeConfig
from ainos.kernel.control import ServicesConfig

MODEL = "all-minilm-l6-v2"
BODY = json.dumps({"model": MODEL, "input": "hello"}).encode()


@pytest.fixture(scope="module")
def port(prepared_models: Path) -> Iterator[int]:
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        api=ApiConfig(
            default_embedding_model=MODEL,
            allowed_hosts=("ainos.internal",),
            allowed_origins=("https://app.example",),
        ),
    )
    with serving_runtime(prepared_models, config) as http:
        yield http.port


def _call(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request with exactly these headers (``Host`` included), over a real socket."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        is_json = response.getheader("content-type", "").startswith("application/json")
        return response.status, dict(response.getheaders()), json.loads(raw) if is_json else raw
    finally:
        connection.close()


def _error(document: Any) -> dict[str, Any]:
    error: dict[str, Any] = document["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:7411", "localhost:9", "[::1]:7411", "LOCALHOST", "ainos.internal:80"],
)
def test_loopback_and_configured_hosts_are_served(port: int, host: str) -> None:
    status, _, _ = _call(port, "GET", "/v1/models", {"Host": host})
    assert status == 200


@pytest.mark.parametrize("host", ["rebind.attacker.example", "rebind.attacker.example:7411", ""])
def test_other_hosts_are_refused(port: int, host: str) -> None:
    """A page whose name was rebound to 127.0.0.1 sends its own name as Host."""
    status, _, document = _call(port, "GET", "/v1/models", {"Host": host})
    assert status == 403
    assert "is not this server" in _error(document)["message"]
    # the embeddings' shortcut comes after the door
    headers = {"Host": host, "Content-Type": "application/json"}
    status, _, document = _call(port, "POST", "/v1/embeddings", headers, BODY)
    assert status == 403


def test_a_cross_site_simple_post_is_refused(port: int) -> None:
    """What a hostile page's form or fetch(..., {mode: "no-cors"}) sends: no preflight."""
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Origin": "https://attacker.example",
        "Content-Type": "text/plain",
    }
    status, _, document = _call(port, "POST", "/v1/embeddings", headers, BODY)
    assert status == 403
    assert "may not call this server" in _error(document)["message"]
    status, _, document = _call(port, "POST", "/ainos/models/x/unload", headers, b"")
    assert status == 403


@pytest.mark.parametrize("origin", ["null", "file://", "http://localhost.attacker.example"])
def test_origins_that_are_no_page_of_this_machine_are_refused(port: int, origin: str) -> None:
    status, _, _ = _call(port, "GET", "/v1/models", {"Host": "localhost", "Origin": origin})
    assert status == 403


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:8080", "https://app.example"]
)
def test_allowed_origins_are_served_and_may_read_the_reply(port: int, origin: str) -> None:
    headers = {"Host": "localhost", "Origin": origin, "Content-Type": "application/json"}
    status, reply_headers, document = _call(port, "POST", "/v1/embeddings", headers, BODY)
    assert status == 200
    assert len(document["data"]) == 1
    assert reply_headers["access-control-allow-origin"] == origin


def test_an_allowed_origin_gets_its_preflight_answered(port: int) -> None:
    headers = {
        "Host": "localhost",
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }
    status, reply_headers, _ = _call(port, "OPTIONS", "/v1/embeddings", headers)
    assert status == 200
    assert reply_headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_a_post_body_must_be_declared_json(port: int, content_type: str | None) -> None:
    headers = {"Host": "localhost"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, _, document = _call(port, "POST", "/v1/embeddings", headers, BODY)
    assert status == 415
    assert "must be application/json" in _error(document)["message"]


def test_json_with_parameters_is_json(port: int) -> None:
    headers = {"Host": "localhost", "Content-Type": "Application/JSON; charset=utf-8"}
    status, _, document = _call(port, "POST", "/v1/embeddings", headers, BODY)
    assert status == 200
    assert len(document["data"][0]["embedding"]) == 384
