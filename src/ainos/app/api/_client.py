"""The one client of the daemon's HTTP API: finding it, requests with the caller's priority
class and name, server-sent events, and OpenAI error objects turned into ainos errors — what
``ainos chat``, ``ainos models`` and the agent's daemon model all use.

Sockets and httptools' parser only (:mod:`._wire`), so a command that talks to the daemon
imports no HTTP framework; the daemon is on this machine, so no proxy from the environment
is ever used.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ainos._files import write_text_atomically
from ainos.app.api._wire import Connection, ConnectionLost, ProtocolError, Reply
from ainos.errors import (
    AinosError,
    ContextLengthExceeded,
    InvalidArgument,
    ModelNotFound,
    PermissionDenied,
    QueueFull,
)
from ainos.protocol.scheduler import Priority

__all__ = [
    "API_TOKEN_ENV",
    "DaemonApi",
    "api_error",
    "daemon_api_url",
    "endpoint_file",
    "publish_endpoint",
    "server_sent_events",
    "withdraw_endpoint",
]

API_TOKEN_ENV = "AINOS_API_TOKEN"


def endpoint_file(socket_path: Path | None) -> Path:
    """Where the daemon serving ``socket_path`` publishes its HTTP API's address."""
    from ainos.kernel.control import default_socket_path

    path = socket_path or default_socket_path()
    return path.with_name(f"{path.name}.http.json")


def publish_endpoint(socket_path: Path | None, url: str) -> None:
    """Written by the daemon once its API listens (replaced whole, never half-written)."""
    document = {"url": url, "pid": os.getpid()}
    write_text_atomically(endpoint_file(socket_path), json.dumps(document))


def withdraw_endpoint(socket_path: Path | None) -> None:
    """Removed by the daemon as it stops (only its own: a newer daemon's file stays)."""
    target = endpoint_file(socket_path)
    try:
        if json.loads(target.read_text(encoding="utf-8")).get("pid") == os.getpid():
            target.unlink(missing_ok=True)
    except (OSError, ValueError, AttributeError):
        return


def _published(target: Path) -> str | None:
    """The URL in ``target`` when the daemon that wrote it still runs."""
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
        url, pid = str(document["url"]), int(document["pid"])
        os.kill(pid, 0)  # raises when no such process
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url


def daemon_api_url(socket_path: Path | None) -> str | None:
    """The HTTP API of the daemon serving ``socket_path`` (None: no daemon runs, or it
    serves no HTTP API). Read from the address the daemon published, so a command that
    talks HTTP needs no control-socket round trip; asked on the socket only when no running
    daemon published one."""
    published = _published(endpoint_file(socket_path))
    if published is not None:
        return published
    from ainos.kernel.control import Client, DaemonUnavailable  # only for commands that ask

    try:
        with Client(socket_path, timeout=10.0) as client:
            return client.version().endpoints.get("http")
    except DaemonUnavailable:
        return None


def api_error(error: Mapping[str, Any], status: int | None = None) -> AinosError:
    """The ainos error for an OpenAI error object, so an exit code tells the same story
    whether the work ran here or in the daemon."""
    message = str(error.get("message") or f"HTTP {status}")
    code = error.get("code")
    if code == "context_length_exceeded":
        return ContextLengthExceeded(message, prompt_tokens=None, context_tokens=None)
    if code == "model_not_found" or status == 404:
        return ModelNotFound(message)
    if code == "queue_full" or status == 429:
        return QueueFull(message)
    if status == 401:
        return PermissionDenied(f"the daemon refused the token: set {API_TOKEN_ENV}")
    if error.get("type") == "invalid_request_error":
        return InvalidArgument(message)
    return AinosError(f"the daemon failed: {message}")


def server_sent_events(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON documents of an SSE stream's ``data:`` lines, up to ``[DONE]``; an error
    event raises its ainos error."""
    for raw in lines:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            return
        document = json.loads(data)
        if isinstance(document, dict) and "error" in document:
            raise api_error(document["error"] or {})
        yield document


class DaemonApi:
    """Requests to the daemon's API at ``url`` as client ``client_name``; ``token`` defaults
    to ``$AINOS_API_TOKEN``.

    Each thread keeps one keep-alive connection (a request costs no TCP handshake, and
    threads never share a connection); :meth:`close` closes them all. A connection the
    server closed while idle is reopened once, before any of the reply was read.
    """

    def __init__(
        self,
        url: str,
        *,
        client_name: str = "ainos-cli",
        token: str | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise InvalidArgument(f"the daemon's API must be an http:// URL, got {url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._base_path = parts.path
        self.client_name = client_name
        self.token = token if token is not None else os.environ.get(API_TOKEN_ENV) or None
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: set[Connection] = set()

    def __enter__(self) -> DaemonApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            connection.close()

    def _headers(self, priority: Priority | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "x-ainos-client": self.client_name}
        if priority is not None:
            headers["x-ainos-priority"] = priority.value
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _connection(self) -> tuple[Connection, bool]:
        """This thread's connection, and whether it served a request before."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is not None and connection.reusable:
            return connection, True
        if connection is not None:
            self._drop()
        connection = Connection(self._host, self._port, self.timeout_s)
        self._local.connection = connection
        with self._lock:
            self._connections.add(connection)
        return connection, False

    def _drop(self) -> None:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                self._connections.discard(connection)

    def _send(self, method: str, path: str, data: bytes | None, priority: Priority | None) -> Reply:
        headers = self._headers(priority)
        for attempt in (1, 2):
            try:
                connection, reused = self._connection()
                return connection.request(method, self._base_path + path, headers, data)
            except ConnectionLost as e:
                self._drop()
                # Only a kept-alive connection the server had already closed is retried: the
                # request never reached it. A fresh connection failing is a real failure.
                if not reused or attempt == 2:
                    raise AinosError(f"cannot reach the daemon's API at {self.url}: {e}") from None
            except OSError as error:
                self._drop()
                reason = error.strerror or error
                raise AinosError(f"cannot reach the daemon's API at {self.url}: {reason}") from None
            except ProtocolError as error:
                self._drop()
                raise AinosError(f"the daemon's API at {self.url} failed: {error}") from None
            except ValueError as error:  # a header that cannot be sent (a name with a newline)
                raise InvalidArgument(str(error)) from None
        raise AssertionError("unreachable")

    @contextmanager
    def _open(
        self, method: str, path: str, body: Mapping[str, Any] | None, priority: Priority | None
    ) -> Iterator[Reply]:
        data = json.dumps(body).encode() if body is not None else None
        if method == "POST" and data is None:
            data = b"{}"
        response = self._send(method, path, data, priority)
        if not 200 <= response.status < 300:
            raise self._refusal(response)
        finished = False
        try:
            yield response
            finished = response.complete
        finally:
            # A reply read to its end leaves the connection ready for the next request; one
            # abandoned halfway (an error, a generator closed early) cannot be reused.
            if not finished:
                self._drop()

    def _refusal(self, response: Reply) -> AinosError:
        """The error a reply that is no success stands for (its body read, or the
        connection dropped when it cannot be)."""
        try:
            detail = json.loads(self._body(response))["error"]
        except (ValueError, KeyError, TypeError, AinosError):
            detail = {}
        return api_error(detail if isinstance(detail, dict) else {}, response.status)

    def _body(self, response: Reply) -> bytes:
        """The rest of ``response``'s body; socket and protocol failures as ainos errors."""
        try:
            return response.read()
        except (OSError, ProtocolError) as error:
            self._drop()
            raise AinosError(f"the daemon's API at {self.url} failed: {error}") from None

    def json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        priority: Priority | None = None,
    ) -> Any:
        with self._open(method, path, body, priority) as response:
            data = self._body(response)
        return json.loads(data)

    def text(self, path: str) -> str:
        """``GET path`` of a text document (``/metrics``: Prometheus' text format)."""
        with self._open("GET", path, None, None) as response:
            data = self._body(response)
        return data.decode("utf-8")

    def stream(
        self, path: str, body: Mapping[str, Any], *, priority: Priority | None = None
    ) -> Iterator[dict[str, Any]]:
        """A streamed request's events (``"stream": true`` is the caller's to set)."""
        with self._open("POST", path, body, priority) as response:
            try:
                yield from server_sent_events(response)
            except (OSError, ProtocolError) as error:
                raise AinosError(f"the daemon's API at {self.url} failed: {error}") from None
            self._body(response)  # past [DONE]: the end of the body, so the connection is reused

    # -- the model catalog --------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """``GET /ainos/models``: the models loaded in the daemon."""
        data = self.json("GET", "/ainos/models").get("data") or []
        return [m for m in data if isinstance(m, dict)]

    def load_model(self, model: str) -> dict[str, Any]:
        """``POST /ainos/models/<model>/load``: the loaded model's description."""
        document = self.json("POST", f"/ainos/models/{_quoted(model)}/load")
        return document if isinstance(document, dict) else {}

    def unload_model(self, model: str) -> dict[str, Any]:
        document = self.json("POST", f"/ainos/models/{_quoted(model)}/unload")
        return document if isinstance(document, dict) else {}


def _quoted(model: str) -> str:
    return urllib.parse.quote(model, safe="")
