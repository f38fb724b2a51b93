"""The HTTP door: Host and Origin checked (403), the bearer token (401), and which binds
need a token. The served endpoint itself is tested end to end (tests/e2e)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from ainos.app.mcp_server._http import HttpDoor
from ainos.errors import InvalidArgument


def _refusal(door: HttpDoor, **headers: str) -> tuple[int, str] | None:
    return door.refusal(Headers({k.replace("_", "-"): v for k, v in headers.items()}))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_a_bind_reachable_from_elsewhere_needs_a_token(host: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        HttpDoor.for_bind(host, None)
    message = str(caught.value)
    assert f"--host {host}" in message
    assert "--token" in message
    assert "AINOS_MCP_TOKEN" in message
    assert HttpDoor.for_bind(host, "s3cret").token == "s3cret"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_a_loopback_bind_needs_no_token(host: str) -> None:
    door = HttpDoor.for_bind(host, None)
    assert door.token is None
    assert {"127.0.0.1", "localhost", "[::1]"} <= door.hosts


def test_the_names_a_door_answers_to() -> None:
    assert "[::1]" in HttpDoor.for_bind("::1", None).hosts
    assert "127.0.0.2" in HttpDoor.for_bind("127.0.0.2", None).hosts
    door = HttpDoor.for_bind("0.0.0.0", "t", ["Proxy.Example"])
    assert "proxy.example" in door.hosts
    # A wildcard is no name a client uses.
    assert "0.0.0.0" not in door.hosts
    assert "10.0.0.5" in HttpDoor.for_bind("10.0.0.5", "t").hosts


@pytest.mark.parametrize(
    "host", ["127.0.0.1:7412", "127.0.0.1", "localhost:80", "LOCALHOST:1", "[::1]:7412", "[::1]"]
)
def test_a_loopback_host_comes_in(host: str) -> None:
    assert _refusal(HttpDoor.for_bind("127.0.0.1", None), host=host) is None


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:7412", "127.0.0.1.evil.example", "localhost.", ""]
)
def test_another_host_is_refused(host: str) -> None:
    refusal = _refusal(HttpDoor.for_bind("127.0.0.1", None), host=host)
    assert refusal is not None
    status, message = refusal
    assert status == 403
    assert "Host" in message


def test_a_missing_host_is_refused() -> None:
    assert _refusal(HttpDoor.for_bind("127.0.0.1", None)) == (403, "Host '' is not this server")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("https://127.0.0.1", True),
        ("http://[::1]:8080", True),
        ("http://evil.example", False),
        ("https://localhost.evil.example", False),
        ("null", False),
        ("file://localhost", False),
    ],
)
def test_an_origin_must_be_this_machine(origin: str, allowed: bool) -> None:
    refusal = _refusal(HttpDoor.for_bind("127.0.0.1", None), host="127.0.0.1:7412", origin=origin)
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal[0] == 403
        assert origin in refusal[1]


def test_an_allowed_origin_comes_in_as_the_api_lets_it() -> None:
    door = HttpDoor.for_bind("127.0.0.1", None, extra_origins=["https://Dash.Example/"])
    host = "127.0.0.1:7412"
    assert _refusal(door, host=host, origin="https://dash.example") is None
    for other in ("http://dash.example", "https://dash.example:8443", "https://evil.example"):
        refusal = _refusal(door, host=host, origin=other)
        assert refusal is not None, other
        assert refusal[0] == 403


def test_the_token() -> None:
    door = HttpDoor.for_bind("127.0.0.1", "s3cret")
    host = "127.0.0.1:7412"
    assert _refusal(door, host=host, authorization="Bearer s3cret") is None
    assert _refusal(door, host=host, authorization="bearer s3cret") is None
    for wrong in ("", "Bearer", "Bearer wrong", "Basic s3cret", "Bearer s3cret2", "s3cret"):
        refusal = _refusal(door, host=host, authorization=wrong)
        assert refusal is not None, wrong
        assert refusal[0] == 401
    assert _refusal(door, host=host) == (401, "missing or wrong bearer token")


def test_the_host_is_checked_before_the_token() -> None:
    """A rebinding page with no token learns nothing about the token."""
    door = HttpDoor.for_bind("127.0.0.1", "s3cret")
    refusal = _refusal(door, host="evil.example")
    assert refusal is not None
    assert refusal[0] == 403
