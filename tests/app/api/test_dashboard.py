"""The live dashboard over a real daemon API on a loopback port: the page and its assets with
their security headers, the stream of the machine (history first, then new samples and
views; an end when the server stops; nothing left when the client goes), the token rule and
the door's Host and Origin checks."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPResponse
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from tests.api_server import serving_runtime

from ainos.app.api import ApiConfig, HttpServer
from ainos.app.api._dashboard import fresh_points
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.kernel.control import ServicesConfig
from ainos.kernel.telemetry import Sampler
from ainos.protocol.monitor import MachineView

TOKEN = "dashboard-test-" + "0123456789abcdef"  # assembled: no secret-looking literal
WAIT_S = 60  # a bound on waiting for the server, never a measurement
EVENTS = "/ainos/view/events"


def _config(**api: Any) -> RuntimeConfig:
    return RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False, sampler_rate_hz=20),
        api=ApiConfig(**api),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    with serving_runtime(tmp_path_factory.mktemp("home"), _config()) as http:
        yield http


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    config = _config(
        token=TOKEN, allowed_hosts=("dash.example",), allowed_origins=("https://app.example",)
    )
    with serving_runtime(tmp_path_factory.mktemp("home"), config) as http:
        yield http


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _get(http: HttpServer, path: str, headers: dict[str, str] | None = None) -> Reply:
    connection = HTTPConnection("127.0.0.1", http.port, timeout=WAIT_S)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


@dataclass
class Event:
    name: str
    data: Any
    retry: int | None


class Stream:
    """One reader of the dashboard's stream over a real connection."""

    def __init__(self, http: HttpServer, headers: dict[str, str] | None = None) -> None:
        self.connection = HTTPConnection("127.0.0.1", http.port, timeout=WAIT_S)
        self.connection.request("GET", EVENTS, headers=headers or {})
        self.response: HTTPResponse = self.connection.getresponse()
        self.comments = 0

    def next(self) -> Event | None:
        """The next event; None when the server ended the stream."""
        name, data, retry = "message", [], None
        while True:
            line = self.response.readline()
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if not text:
                if data:
                    return Event(name, json.loads("\n".join(data)), retry)
                continue
            field, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                self.comments += 1
            elif field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                retry = int(value)

    def next_named(self, name: str) -> Event:
        while (event := self.next()) is not None:
            if event.name == name:
                return event
        raise AssertionError(f"the stream ended before a {name!r} event")

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def _stream(http: HttpServer, headers: dict[str, str] | None = None) -> Iterator[Stream]:
    stream = Stream(http, headers)
    try:
        yield stream
    finally:
        stream.close()


# -- the page ---------------------------------------------------------------------------


def _check_page_headers(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    for directive in ("script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "http" not in policy  # no other site
    assert headers["x-content-type-options"] == "nosniff"


def test_the_page_and_every_asset_it_names_are_served_by_the_daemon(server: HttpServer) -> None:
    page = _get(server, "/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    _check_page_headers(page.headers)
    html = page.body.decode()
    assert 'data-token-required="false"' in html
    assert "<script>" not in html  # nothing inline: the CSP forbids it
    assert " style=" not in html
    linked = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert linked
    assert all(link.startswith("/dashboard/") for link in linked)  # no CDN, no other host
    kinds = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for link in linked:
        asset = _get(server, link)
        assert asset.status == 200, link
        assert kinds[Path(link).suffix] in asset.headers["content-type"], link
        _check_page_headers(asset.headers)
    missing = _get(server, "/dashboard/missing.js")
    assert missing.status == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"


def test_the_charting_library_ships_with_its_licence_and_pinned_version() -> None:
    folder = resources.files("ainos.app.api").joinpath("dashboard")
    licence = folder.joinpath("uPlot.LICENSE").read_text()
    assert licence.startswith("The MIT License")
    header = folder.joinpath("uPlot.iife.min.js").read_text()[:80]
    version = re.search(r"\(v(\d+\.\d+\.\d+)\)", header)
    assert version is not None
    assert f"uPlot **{version.group(1)}**" in folder.joinpath("README.md").read_text()


# -- the stream -------------------------------------------------------------------------


def test_the_stream_starts_with_the_history_and_a_view_then_sends_new_samples(
    server: HttpServer,
) -> None:
    with _stream(server) as first:
        assert first.response.status == 200
        assert first.response.getheader("content-type", "").startswith("text/event-stream")
        assert first.response.getheader("cache-control") == "no-cache"
        hello = first.next()
        assert hello is not None
        assert (hello.name, hello.retry) == ("hello", 3000)
        first.next_named("devices")  # the sampler has samples now

    with _stream(server) as second:
        hello = second.next_named("hello")
        history = hello.data["history"]
        assert history  # the charts start filled
        times = [point["t"] for point in history]
        assert times == sorted(times)
        cpu_utilisation, cpu_memory = history[-1]["cpu"]
        assert 0 <= cpu_utilisation <= 100
        assert 0 < cpu_memory <= 100
        assert history[-1]["gpus"] == []  # no GPU here
        view = MachineView.model_validate(hello.data["view"])
        assert view.source == "daemon"
        assert view.stats.scheduler is not None

        points = second.next_named("devices").data["points"]
        assert points
        assert points[0]["t"] > times[-1]  # only samples taken since, none twice
        later = MachineView.model_validate(second.next_named("view").data)
        assert later.at > view.at


def test_the_stream_ends_with_an_end_event_when_the_server_stops(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    serving = serving_runtime(tmp_path_factory.mktemp("home"), _config())
    http = serving.__enter__()
    # Stopping grants requests a 30 s drain: an open stream must end at once, not wait it out.
    stopper = threading.Thread(target=serving.__exit__, args=(None, None, None))
    try:
        with _stream(http) as stream:
            stream.next_named("hello")
            stopper.start()
            names = [event.name for event in iter(stream.next, None)]
    finally:
        if stopper.ident is None:
            serving.__exit__(None, None, None)
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert names[-1] == "end"


def test_a_client_that_goes_leaves_no_stream_behind() -> None:
    with Runtime(_config()) as runtime:
        http = HttpServer(runtime.http_app(), "127.0.0.1", 0).start()
        with _stream(http) as stream:
            stream.next_named("devices")
        # No on_stopping here: only the client's leaving can have ended its stream, else
        # stopping waits out the whole grace.
        stopper = threading.Thread(target=http.stop, kwargs={"grace": 3 * WAIT_S})
        stopper.start()
        stopper.join(WAIT_S)
        assert not stopper.is_alive()


# -- the door ---------------------------------------------------------------------------


def test_the_stream_needs_the_token_and_the_page_never_holds_it(
    token_server: HttpServer,
) -> None:
    refused = _get(token_server, EVENTS)
    assert refused.status == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    wrong = _get(token_server, EVENTS, {"Authorization": "Bearer not-the-token"})
    assert wrong.status == 401
    with _stream(token_server, {"Authorization": f"Bearer {TOKEN}"}) as stream:
        assert stream.response.status == 200
        assert stream.next_named("hello").data["view"]["source"] == "daemon"

    page = _get(token_server, "/")  # the page itself holds no data: served without a token
    assert page.status == 200
    html = page.body.decode()
    assert 'data-token-required="true"' in html
    script = _get(token_server, "/dashboard/dashboard.js").body.decode()
    assert TOKEN not in html
    assert TOKEN not in script
    assert "Authorization" in script  # the token goes in a header ...
    assert "?token" not in script
    assert "&token" not in script


@pytest.mark.parametrize("path", ["/", "/dashboard/dashboard.js", EVENTS])
def test_a_foreign_origin_or_host_is_refused(token_server: HttpServer, path: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    foreign = _get(token_server, path, {**bearer, "Origin": "https://evil.example"})
    assert foreign.status == 403
    assert foreign.json()["error"]["code"] == "forbidden"
    rebound = _get(token_server, path, {**bearer, "Host": f"evil.example:{token_server.port}"})
    assert rebound.status == 403


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1", "http://127.0.0.1:{port}"),  # the page opened on loopback
        ("dash.example", "http://dash.example:{port}"),  # on a name the daemon answers to
        ("dash.example", "https://app.example"),  # a page of an --allow-origin
    ],
)
def test_the_pages_own_requests_pass_the_door(
    token_server: HttpServer, host: str, origin: str
) -> None:
    port = token_server.port
    own = {"Host": f"{host}:{port}", "Origin": origin.format(port=port)}
    assert _get(token_server, "/", own).status == 200
    assert _get(token_server, "/dashboard/dashboard.css", own).status == 200
    assert _get(token_server, EVENTS, own).status == 401  # no token yet: the page asks for it
    with _stream(token_server, {**own, "Authorization": f"Bearer {TOKEN}"}) as stream:
        assert stream.response.status == 200
        assert stream.next_named("hello").data["view"] is not None


def test_fresh_points_are_the_samples_after_the_last_sent_and_survive_a_clock_set_back() -> None:
    taken = Sampler().sample_now()
    history = [taken.model_copy(update={"timestamp": t}) for t in (100.0, 101.0, 102.0)]
    points, after = fresh_points(history, 100.5)
    assert [p["t"] for p in points] == [101.0, 102.0]
    assert after == 102.0
    assert fresh_points(history, 102.0) == ([], 102.0)
    # The wall clock went back: the newest sample is sent, and the next ones follow it.
    points, after = fresh_points(history, 500.0)
    assert ([p["t"] for p in points], after) == ([102.0], 102.0)
    assert fresh_points([], 7.0) == ([], 7.0)
