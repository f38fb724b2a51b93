"""``ainos mcp grants`` and ``ainos mcp audit``: what servers may do, and what they did."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._output import emit_json, stderr, stdout
from ainos.errors import NotFound

grants_app = typer.Typer(
    help="Consents: what a server may reach when a client runs it (files, the network).",
    invoke_without_command=True,
)


def _when(at: float) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(at))


def _print_grants(server: str | None, host: str | None, as_json: bool) -> None:
    from ainos.ai.mcp_registry import ConsentStore

    grants = ConsentStore().grants(server, host=host)
    if as_json:
        emit_json([g.to_dict() for g in grants])
        return
    if not grants:
        stderr.print("no grants" + (f" for {escape(server)}" if server else ""))
        return
    table = Table(title="MCP grants", title_justify="left")
    table.add_column("id", justify="right")
    for column in ("host", "server", "capability", "path", "granted"):
        table.add_column(column)
    for grant in grants:
        table.add_row(
            str(grant.id),
            escape(grant.host),
            escape(grant.server),
            grant.capability.value,
            escape(str(grant.path) if grant.path else "-"),
            _when(grant.created_at),
        )
    stdout.print(table)


@grants_app.callback()
def grants(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the grants (or grant, revoke)."""
    if ctx.invoked_subcommand is None:
        _print_grants(None, None, as_json)


@grants_app.command("list")
def list_grants(
    server: str | None = typer.Option(None, "--server", help="Only this server's."),
    host: str | None = typer.Option(None, "--host", help="Only those in force for this host."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The grants, of a server, in force for a host (its own and those for any host, *)."""
    _print_grants(server, host, as_json)


@grants_app.command("grant")
def grant(
    server: str = typer.Argument(..., metavar="SERVER", help="The server's id."),
    capability: str = typer.Argument(
        ...,
        metavar="CAPABILITY",
        help="FileSystemRead|Write|Create|Delete or HttpGet|Post|Put|Delete.",
    ),
    paths: list[Path] = typer.Argument(
        None, metavar="[PATH]...", help="The paths of a filesystem capability."
    ),
    host: str = typer.Option(
        "*", "--host", help="The client this holds for (claude, ainos-agent …); * for any."
    ),
) -> None:
    """Grant a capability to a server (on paths, for filesystem ones)."""
    from ainos.ai.mcp_registry import Capability, ConsentStore, McpRegistry

    McpRegistry().get(server)  # a grant to nobody is a typo
    chosen = Capability.parse(capability)
    store = ConsentStore()
    chosen_paths: list[Path | None] = list(paths) if paths else [None]
    for path in chosen_paths:
        made = store.grant(server, chosen, path, host=host)
        where = f" on {made.path}" if made.path else ""
        stderr.print(
            f"grant {made.id}: {escape(server)} has {chosen.value}{escape(where)} "
            f"when {'any host' if host == '*' else escape(host)} runs it"
        )


@grants_app.command("revoke")
def revoke(grant_id: int = typer.Argument(..., metavar="ID", help="The grant's id.")) -> None:
    """Take a grant back."""
    from ainos.ai.mcp_registry import ConsentStore

    revoked = ConsentStore().revoke(grant_id)
    if revoked is None:
        raise NotFound(f"no grant {grant_id} (see ainos mcp grants)")
    stderr.print(
        f"revoked grant {grant_id} ({revoked.capability.value} of {escape(revoked.server)})"
    )


def audit_command(
    server: str | None = typer.Option(None, "--server", help="Only this server's calls."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many of the latest calls."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The audit log: every tool call through the registry, who made it and how it ended."""
    from ainos.ai.mcp_registry import AuditLog

    records = AuditLog().records(server, limit=limit)
    if as_json:
        emit_json([r.to_dict() for r in records])
        return
    if not records:
        stderr.print("no tool calls audited yet")
        return
    table = Table(title="MCP tool calls", title_justify="left")
    for column in ("when", "client", "host", "server", "tool", "outcome", "bytes", "ms", "reason"):
        table.add_column(column, justify="right" if column in ("bytes", "ms") else "left")
    for record in records:
        table.add_row(
            _when(record.at),
            escape(record.client),
            escape(record.host),
            escape(record.server),
            escape(record.tool),
            record.outcome,
            str(record.result_bytes),
            f"{record.duration_ms:.1f}",
            escape(record.reason),
        )
    stdout.print(table)
