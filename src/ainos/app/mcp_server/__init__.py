"""ainos over the Model Context Protocol (``ainos mcp-server``): the coding agent as
``codex`` / ``codex-reply`` (compatible with ``codex mcp-server``), every AI action, the
on-device models and the machine's statistics as tools; resources, prompts, completion and
logging. Built on the official ``mcp`` SDK; stdio and Streamable HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.app.mcp_server._backend import LocalBackend
    from ainos.app.mcp_server._http import HttpDoor, http_app, serve_http
    from ainos.app.mcp_server._server import build_server, initialization_options
    from ainos.app.mcp_server._state import McpServerOptions, ServerState
    from ainos.app.mcp_server._stdio import serve_stdio
    from ainos.app.mcp_server._tools import ToolCall, ToolEntry

_EXPORTS = {
    "HttpDoor": "_http",
    "LocalBackend": "_backend",
    "McpServerOptions": "_state",
    "ServerState": "_state",
    "ToolCall": "_tools",
    "ToolEntry": "_tools",
    "build_server": "_server",
    "initialization_options": "_server",
    "serve_stdio": "_stdio",
    "http_app": "_http",
    "serve_http": "_http",
}

__all__ = [
    "HttpDoor",
    "LocalBackend",
    "McpServerOptions",
    "ServerState",
    "ToolCall",
    "ToolEntry",
    "build_server",
    "http_app",
    "initialization_options",
    "serve_http",
    "serve_stdio",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
