"""``ainos mcp-server``: ainos over the Model Context Protocol, on stdio (what MCP clients
launch) or Streamable HTTP. stdout carries the protocol; everything human goes to stderr."""

from __future__ import annotations

from pathlib import Path

import typer

from ainos.app.cli._daemon import SOCKET_OPTION
from ainos.app.cli._output import stderr
from ainos.errors import InvalidArgument


def mcp_server(
    http: bool = typer.Option(False, "--http", help="Serve Streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (with --http)."),
    port: int = typer.Option(7412, "--port", help="Port to listen on (with --http; 0: any)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="AINOS_MCP_TOKEN",
        help="Bearer token HTTP clients must send (needed on a non-loopback --host).",
    ),
    allow_host: list[str] | None = typer.Option(
        None, "--allow-host", help="Another Host name clients may use (e.g. a proxy's)."
    ),
    approval_timeout: float = typer.Option(
        30.0,
        "--approval-timeout",
        help="Seconds an approval asked of the client may stay unanswered before it is denied.",
    ),
    workspace: Path | None = typer.Option(
        None, "-C", "--cd", help="Directory the agent and the actions work in by default."
    ),
    use_windows_ai: bool = typer.Option(
        False, "--use-windows-ai", help="Run the agent's model on the on-device AI layer."
    ),
    realtime: bool = typer.Option(False, "--realtime", help="Realtime priority for the agent."),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Serve ainos over the Model Context Protocol: the coding agent, AI actions, models and
    statistics as tools (stdio; --http for Streamable HTTP)."""
    import os

    import anyio

    from ainos.app.mcp_server import (
        McpServerOptions,
        build_server,
        initialization_options,
        serve_stdio,
    )

    if not 0 < approval_timeout <= 24 * 3600:
        raise InvalidArgument(f"--approval-timeout must be in (0, 86400] s, got {approval_timeout}")
    if workspace is not None:
        if not workspace.is_dir():
            raise InvalidArgument(f"--cd: not a directory: {workspace}")
        os.chdir(workspace)
    options = McpServerOptions(
        approval_timeout=approval_timeout,
        socket_path=socket_path,
        on_device=use_windows_ai,
        realtime=realtime,
    )
    server = build_server(options)
    if not http:
        anyio.run(serve_stdio, server, initialization_options(server))
        return
    from ainos.app.mcp_server._http import HttpDoor, serve_http

    door = HttpDoor.for_bind(host, token, allow_host or ())

    def ready(url: str) -> None:
        auth = "bearer token required" if token else "no token (loopback only)"
        stderr.print(f"ainos: MCP over Streamable HTTP on {url} ({auth}). Ctrl-C to stop.")

    serve_http(server, host, port, door, ready)


def register(app: typer.Typer) -> None:
    app.command("mcp-server")(mcp_server)
