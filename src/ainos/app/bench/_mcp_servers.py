"""The MCP servers ``ainos bench mcp`` calls, each run in a process of its own::

    python -m ainos.app.bench._mcp_servers {ainos|bare} {stdio|http} [--port N]

Both serve the same no-op tool, ``noop``: no arguments, an empty text result.

- ``ainos``: ainos's MCP server (``build_server``, every tool of its own beside ``noop``,
  the lifespan's conversation store under ``AINOS_HOME``, a :class:`LocalBackend`, which
  starts nothing until a model tool is called), served as ``ainos mcp-server`` serves it:
  ``serve_stdio``, or ``serve_http`` (its door in front of the SDK's session manager, on
  uvicorn).
- ``bare``: the plain thing a user of the SDK writes: a lowlevel ``Server`` with a
  ``tools/list`` and a ``tools/call`` handler, on the SDK's ``stdio_server`` with
  ``server.run``, or its ``streamable_http_app()`` run by ``uvicorn.run``.

Over HTTP both listen on 127.0.0.1 at ``--port`` (chosen by the bench).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext

__all__ = ["HOST", "NOOP", "SERVERS", "TRANSPORTS", "ainos_server", "bare_server", "main"]

NOOP = "noop"
HOST = "127.0.0.1"
SERVERS = ("ainos", "bare")
TRANSPORTS = ("stdio", "http")


def noop_tool() -> types.Tool:
    return types.Tool(
        name=NOOP,
        description="Does nothing: an empty text result.",
        input_schema={"type": "object", "properties": {}},
    )


def _empty() -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text="")])


def ainos_server() -> Server[Any]:
    from ainos.app.mcp_server import ToolCall, ToolEntry, build_server
    from ainos.app.mcp_server._backend import LocalBackend

    async def noop(_: ToolCall) -> types.CallToolResult:
        return _empty()

    return build_server(backend=LocalBackend, extra_tools=[ToolEntry(noop_tool(), noop)])


def bare_server() -> Server[Any]:
    async def list_tools(
        _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[noop_tool()])

    async def call_tool(
        _ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name != NOOP:
            return types.CallToolResult(
                content=[types.TextContent(text=f"unknown tool {params.name!r}")], is_error=True
            )
        return _empty()

    return Server("bare", on_list_tools=list_tools, on_call_tool=call_tool)


def _serve_ainos(transport: str, port: int) -> None:
    from ainos.app.mcp_server import initialization_options, serve_http, serve_stdio
    from ainos.app.mcp_server._http import HttpDoor

    server = ainos_server()
    if transport == "stdio":
        anyio.run(serve_stdio, server, initialization_options(server))
    else:
        serve_http(server, HOST, port, HttpDoor.for_bind(HOST, None), lambda _url: None)


def _serve_bare(transport: str, port: int) -> None:
    server = bare_server()
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def run() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(run)
    else:
        import uvicorn

        uvicorn.run(server.streamable_http_app(), host=HOST, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ainos.app.bench._mcp_servers")
    parser.add_argument("server", choices=SERVERS)
    parser.add_argument("transport", choices=TRANSPORTS)
    parser.add_argument("--port", type=int, default=0, help="the HTTP port")
    args = parser.parse_args(argv)
    if args.transport == "http" and not 0 < args.port < 65536:
        parser.error("HTTP needs --port")
    serve = _serve_ainos if args.server == "ainos" else _serve_bare
    serve(args.transport, args.port)


if __name__ == "__main__":
    main()
