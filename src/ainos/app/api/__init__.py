"""The OpenAI-compatible HTTP API: routes over ``ai.ml``'s services (embeddings, chat
completions, the Responses API translated to chat, SSE streaming, OpenAI-shaped errors),
served by uvicorn with a coalescing transport. ``ai.ml`` keeps the models, sessions and
services with a Python API; this is one of the application layer's front doors, beside the
CLI and the MCP server.
"""

from ainos.app.api._app import ApiConfig, create_app
from ainos.app.api._server import HttpServer, is_loopback

__all__ = ["ApiConfig", "HttpServer", "create_app", "is_loopback"]
