"""The OpenAI-compatible HTTP API: routes over ``ai.ml``'s services (embeddings, chat
completions, the Responses API translated to chat, SSE streaming, OpenAI-shaped errors),
served by uvicorn with a coalescing transport — and the one client of it that the CLI and
the agent use (:class:`DaemonApi`). ``ai.ml`` keeps the models, sessions and services with
a Python API; this is one of the application layer's front doors, beside the CLI and the
MCP server.
"""

# Names are imported on first use: the client needs no HTTP framework, the server does.
from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.app.api._app import ApiConfig, create_app
    from ainos.app.api._client import (
        API_TOKEN_ENV,
        DaemonApi,
        api_error,
        daemon_api_url,
        endpoint_file,
        publish_endpoint,
        server_sent_events,
        withdraw_endpoint,
    )
    from ainos.app.api._guard import normalised_origin
    from ainos.app.api._server import HttpServer, is_loopback

_EXPORTS = {
    "API_TOKEN_ENV": "_client",
    "ApiConfig": "_app",
    "DaemonApi": "_client",
    "HttpServer": "_server",
    "api_error": "_client",
    "create_app": "_app",
    "daemon_api_url": "_client",
    "endpoint_file": "_client",
    "publish_endpoint": "_client",
    "withdraw_endpoint": "_client",
    "is_loopback": "_server",
    "normalised_origin": "_guard",
    "server_sent_events": "_client",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "API_TOKEN_ENV",
    "ApiConfig",
    "DaemonApi",
    "HttpServer",
    "api_error",
    "create_app",
    "daemon_api_url",
    "endpoint_file",
    "is_loopback",
    "normalised_origin",
    "publish_endpoint",
    "server_sent_events",
    "withdraw_endpoint",
]
