"""``ainos serve`` (the daemon, in the foreground) and ``ainos status``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from ainos.ai.ml import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL, EmbeddingLimits
from ainos.ai.ml.llm import LlmLimits
from ainos.app.api import (
    ApiConfig,
    HttpServer,
    is_loopback,
    publish_endpoint,
    withdraw_endpoint,
)
from ainos.app.cli._logging import LogLevel, log_to_stderr
from ainos.app.cli._output import human_bytes, stderr
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import InvalidArgument
from ainos.kernel.control import (
    ControlServer,
    ServicesConfig,
    default_socket_path,
    serve_forever,
)
from ainos.kernel.scheduler import Discipline, PolicyConfig

# `ainos status` when no daemon runs: the LSB status code for "not running".


def _mount_mcp(
    app: Any,
    runtime: Runtime,
    socket: Path,
    host: str,
    token: str | None,
    door: tuple[list[str], list[str]],
) -> None:
    """MCP at /mcp beside the API, on the daemon's own runtime, behind the API's token;
    ``door``: the host names and browser origins it also lets in, as the API does."""
    from ainos.app.mcp_server import McpServerOptions, build_server
    from ainos.app.mcp_server._backend import LocalBackend
    from ainos.app.mcp_server._http import HttpDoor, mount

    options = McpServerOptions(socket_path=socket)
    server = build_server(options, backend=lambda: LocalBackend(runtime))
    hosts, origins = door
    mount(app, server, HttpDoor.for_bind(host, token, hosts, origins))


def _check_names(hosts: list[str], origins: list[str]) -> None:
    """--allow-host is a bare name (a port is ignored), --allow-origin what a browser sends
    as Origin: either would otherwise never match, silently."""
    for host in hosts:
        if not host or any(c in host for c in "/ @?#"):
            raise InvalidArgument(f"--allow-host must be a host name, got {host!r}")
    for origin in origins:
        try:
            parts = urlsplit(origin)
            valid = parts.scheme in ("http", "https") and parts.hostname and parts.port != 0
        except ValueError:  # a bracket left open, a port that is no number
            valid = False
        if not valid or parts.path not in ("", "/"):
            raise InvalidArgument(
                f"--allow-origin must be scheme://host[:port] (http or https), got {origin!r}"
            )


def serve(
    socket_path: Path | None = typer.Option(
        None, "--socket", help="Control socket (default: $XDG_RUNTIME_DIR/ainos/control.sock)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address of the HTTP API."),
    port: int = typer.Option(7411, "--port", help="Port of the HTTP API (0: any free port)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="AINOS_API_TOKEN",
        help="Bearer token the HTTP API requires (needed on a non-loopback --host).",
    ),
    allow_host: list[str] = typer.Option(
        [],
        "--allow-host",
        help="Another Host name the HTTP API answers to, beside loopback and --host (repeatable).",
    ),
    allow_origin: list[str] = typer.Option(
        [],
        "--allow-origin",
        help="A browser origin (scheme://host[:port]) that may call the HTTP API, beside "
        "pages on loopback (repeatable).",
    ),
    no_http: bool = typer.Option(False, "--no-http", help="Serve the control socket only."),
    no_mcp: bool = typer.Option(
        False, "--no-mcp", help="Do not serve MCP (Streamable HTTP) at /mcp on the API's port."
    ),
    pool_mib: int = typer.Option(256, "--pool-mib", help="Pinned memory pool size in MiB."),
    pool_client_quota_mib: int | None = typer.Option(
        None,
        "--pool-client-quota-mib",
        help="The most of the pinned pool one client process may hold, in MiB (default: half "
        "the pool, so two clients always fit).",
    ),
    policy: Discipline = typer.Option(
        Discipline.PRIORITY, "--policy", help="Scheduling policy (fifo is the baseline)."
    ),
    sampler_hz: float = typer.Option(10.0, "--sampler-hz", help="Telemetry sampling rate."),
    drain_timeout: float = typer.Option(
        5.0, "--drain-timeout", help="Seconds running jobs get to finish on shutdown."
    ),
    max_concurrent: int = typer.Option(
        64, "--max-concurrent", help="Requests per model in the scheduler at once."
    ),
    max_waiting: int = typer.Option(
        256, "--max-waiting", help="Requests per model waiting their turn; more are refused."
    ),
    llm_parallel: int = typer.Option(
        4, "--llm-parallel", help="Generations an LLM decodes together."
    ),
    llm_reserved: int = typer.Option(
        1, "--llm-reserved", help="Of those, how many batch/idle work may never take."
    ),
    context: int = typer.Option(
        0, "--context", help="Tokens of context per generation (0: the model's trained window)."
    ),
    log_level: LogLevel = typer.Option(
        LogLevel.INFO, "--log-level", help="The least severe of the daemon's log lines shown."
    ),
) -> None:
    """Run the ainos daemon in the foreground: the control socket and the OpenAI-compatible
    HTTP API (Ctrl-C or SIGTERM stops it gracefully)."""
    if not 1 <= pool_mib <= 1024 * 1024:
        raise InvalidArgument(f"--pool-mib must be between 1 and 1048576, got {pool_mib}")
    if pool_client_quota_mib is not None and not 1 <= pool_client_quota_mib <= pool_mib:
        raise InvalidArgument(
            f"--pool-client-quota-mib must be between 1 and --pool-mib ({pool_mib}), "
            f"got {pool_client_quota_mib}"
        )
    if not 0 <= drain_timeout <= 3600:
        raise InvalidArgument(f"--drain-timeout must be between 0 and 3600, got {drain_timeout}")
    if context < 0:
        raise InvalidArgument(f"--context must be 0 or more tokens, got {context}")
    _check_names(allow_host, allow_origin)
    log_to_stderr(log_level)
    llm_limits = LlmLimits(llm_parallel, llm_reserved, context or None)
    if max_concurrent < 1 or max_waiting < 0:
        raise InvalidArgument("--max-concurrent must be at least 1 and --max-waiting at least 0")
    if not no_http and not is_loopback(host) and not token:
        raise InvalidArgument(
            f"--host {host} is reachable from other machines: set --token (or AINOS_API_TOKEN)"
        )
    runtime = Runtime(
        RuntimeConfig(
            kernel=ServicesConfig(
                pool_bytes=pool_mib * 1024 * 1024,
                pool_client_quota_bytes=(
                    pool_client_quota_mib * 1024 * 1024 if pool_client_quota_mib else None
                ),
                sampler_rate_hz=sampler_hz,
                policy=PolicyConfig(discipline=policy),
                drain_timeout_s=drain_timeout,
            ),
            embedding_limits=EmbeddingLimits(max_concurrent, max_waiting),
            llm_limits=llm_limits,
            api=ApiConfig(
                token=token,
                default_embedding_model=DEFAULT_EMBEDDING_MODEL,
                default_chat_model=DEFAULT_CHAT_MODEL,
                allowed_hosts=(host, *allow_host),
                allowed_origins=tuple(allow_origin),
            ),
        )
    )
    path = socket_path or default_socket_path()
    http: list[HttpServer] = []
    overdue: list[Callable[[], None]] = []
    watchers: list[Callable[[], None]] = []  # what ends the dashboard's streams at once

    def ready(server: ControlServer) -> None:
        if not no_http:
            app = runtime.http_app()
            if not no_mcp:
                _mount_mcp(app, runtime, server.path, host, token, (allow_host, allow_origin))
            overdue.append(app.state.stopping.cancel_all)
            watchers.append(app.state.stopping.begin)
            http.append(HttpServer(app, host, port).start())
            server.services.endpoints["http"] = http[0].url
            publish_endpoint(server.path, http[0].url)
        pool = server.services.pool.stats()
        locked = "page-locked" if pool.locked else f"not page-locked ({pool.lock_reason})"
        api = f"; OpenAI-compatible API on {http[0].url}/v1" if http else ""
        api += f", MCP on {http[0].url}/mcp" if http and not no_mcp else ""
        stderr.print(
            f"ainos: serving on {server.path}{api}; pinned pool "
            f"{human_bytes(pool.total_bytes)} {locked}; {policy.value} scheduling. "
            "Ctrl-C to stop."
        )
        if http:
            stderr.print(f"ainos: dashboard on {http[0].url}/")

    def stopping(connections: int) -> None:
        if http:
            withdraw_endpoint(path)
        for server in http:
            # Requests get the drain timeout too; what still runs then is cancelled, and
            # open streams end with an error event.
            server.stop(grace=drain_timeout, on_overdue=overdue[0], on_stopping=watchers[0])
        stderr.print(f"ainos: stopping: draining jobs, closing {connections} connections")

    serve_forever(path, runtime.kernel, on_ready=ready, on_stopping=stopping)
    stderr.print("ainos: stopped")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
