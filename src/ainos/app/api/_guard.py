"""The API's door against web pages: an ASGI middleware in front of every route (``/mcp``
included).

A browser lets any page send "simple" requests to loopback (a POST with ``text/plain``
needs no preflight), and with DNS rebinding a hostile name that resolves to 127.0.0.1 lets
the page read the answers too. So a request must name this server in ``Host`` (a loopback
name or one the daemon was told to answer to), a browser's ``Origin`` must be one that is
allowed, and a POST body must be declared ``application/json`` — which a page can only
send after a CORS preflight that this server answers for allowed origins alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ainos.app.api._common import ApiError
from ainos.app.api._server import is_loopback

__all__ = ["LOOPBACK_ORIGINS", "RequestGuard", "host_name", "normalised_origin"]

# Pages served from this machine (any port): they could reach the API without a browser.
LOOPBACK_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def host_name(authority: str) -> str:
    """The host of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``), lower-case and
    without brackets."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def normalised_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send it (no path, no slash)."""
    return origin.strip().rstrip("/").lower()


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json"


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


class RequestGuard:
    """Refuses (403) a ``Host`` that is not this server's and an ``Origin`` that is not
    allowed, and (415) a POST body that is not declared JSON; passes the rest on."""

    def __init__(
        self, app: ASGIApp, *, hosts: Iterable[str] = (), origins: Iterable[str] = ()
    ) -> None:
        self._app = app
        # A wildcard bind address is no name a client would send.
        self._hosts = {host_name(h) for h in hosts} - {"0.0.0.0", "::", ""}
        self._origins = {normalised_origin(o) for o in origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope["method"], Headers(scope=scope))
            if refusal is not None:
                await refusal.response()(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def refusal(self, method: str, headers: Headers) -> ApiError | None:
        host = headers.get("host", "")
        name = host_name(host)
        if not (name in self._hosts or is_loopback(name)):  # (the set first: no parsing)
            return ApiError(
                403, f"Host {host!r} is not this server", "invalid_request_error", "forbidden"
            )
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            return ApiError(
                403,
                f"Origin {origin!r} may not call this server (see ainos serve --allow-origin)",
                "invalid_request_error",
                "forbidden",
            )
        if method in _BODY_METHODS:
            content_type = headers.get("content-type")
            if (content_type is not None or _has_body(headers)) and not _is_json(
                content_type or ""
            ):
                return ApiError(
                    415,
                    f"the request body must be application/json, got {content_type!r}",
                    "invalid_request_error",
                    "unsupported_media_type",
                )
        return None

    def _origin_allowed(self, origin: str) -> bool:
        wanted = normalised_origin(origin)
        if wanted in self._origins:
            return True
        parts = urlsplit(wanted)
        if parts.scheme not in ("http", "https"):
            return False  # "null" (a sandboxed or file: page) and the like
        name = parts.hostname or ""
        return is_loopback(name) or name in self._hosts
