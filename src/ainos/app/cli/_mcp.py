"""``ainos mcp``: the machine's MCP servers — register, list, run, inspect, and export them to
clients. Grants and the audit log are in ``_mcp_consent``.

Nothing here imports the MCP SDK until a command talks to a server (``run``, ``tools``):
listing and editing the registry stay quick.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ainos.app.cli._mcp_consent import audit_command, grants_app
from ainos.app.cli._output import emit_json, stderr, stdout
from ainos.errors import InvalidArgument, McpRegistryError

if TYPE_CHECKING:
    from ainos.ai.mcp_registry import Containment, McpRegistry, ServerEntry

mcp_app = typer.Typer(
    name="mcp",
    help="The machine's MCP servers: register, list, run, inspect, and export them to clients.",
    no_args_is_help=True,
)

_ID_HELP = "The server's id (ainos mcp list)."


def _registry() -> McpRegistry:
    from ainos.ai.mcp_registry import McpRegistry

    return McpRegistry()


def _launch_text(entry: ServerEntry) -> str:
    return entry.describe_launch()


def _tools_text(entry: ServerEntry) -> str:
    parts = []
    if entry.enabled_tools is not None:
        parts.append("only " + ", ".join(entry.enabled_tools))
    if entry.disabled_tools:
        parts.append("not " + ", ".join(entry.disabled_tools))
    return "; ".join(parts) or "all"


@mcp_app.command("list")
def list_servers(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The registered servers (ainos itself first)."""
    registry = _registry()
    entries = registry.entries()
    if as_json:
        emit_json(
            [
                {
                    **e.to_dict(),
                    "manifest": None if e.builtin else str(registry.root / f"{e.id}.json"),
                }
                for e in entries
            ]
        )
        return
    table = Table(title="MCP servers", title_justify="left")
    for column in ("id", "enabled", "containment", "type", "runs", "tools"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            escape(entry.id),
            "yes" if entry.enabled else "no",
            entry.containment,
            entry.server_type,
            escape(_launch_text(entry)),
            escape(_tools_text(entry)),
        )
    stdout.print(table)
    stderr.print(f"manifests in {escape(str(registry.root))}", style="dim")


def _manifest_of(registry: McpRegistry, entry: ServerEntry) -> str | None:
    return None if entry.builtin else str(registry.root / f"{entry.id}.json")


def _pairs(values: list[str], separator: str, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, found, rest = value.partition(separator)
        if not found or not key.strip():
            raise InvalidArgument(f"{what} is NAME{separator}VALUE, not {value!r}")
        pairs[key.strip()] = rest.strip() if separator == ":" else rest
    return pairs


def _anchored(words: list[str]) -> list[str]:
    """The command line with its relative paths made absolute: the server will be started
    from anywhere (``./server`` as a program, ``server.py`` as an existing file)."""
    # abspath, not resolve: a virtual environment's python is a symlink that must stay one.
    program = words[0]
    if "/" in program and not program.startswith("/"):
        program = os.path.abspath(program)
    args = [os.path.abspath(a) if not a.startswith("-") and Path(a).is_file() else a
            for a in words[1:]]  # fmt: skip
    return [program, *args]


def _manifest_path(path: Path) -> Path:
    candidate = path / "manifest.json" if path.is_dir() else path
    if not candidate.is_file():
        raise InvalidArgument(f"no manifest at {path} (a manifest.json, or a directory with one)")
    return candidate


@mcp_app.command("add")
def add(
    words: list[str] | None = typer.Argument(
        None,
        metavar="MANIFEST | -- COMMAND...",
        help="An MCPB manifest.json (or its directory); or, with --name, the command that "
        "runs the server (put -- before it).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="The id of a server given by its command or --url."
    ),
    server_id: str | None = typer.Option(None, "--id", help="Register a manifest under this id."),
    url: str | None = typer.Option(None, "--url", help="A remote server's Streamable HTTP URL."),
    headers: list[str] = typer.Option(
        [], "--header", help="An HTTP header for --url, 'Name: value' (repeatable)."
    ),
    env: list[str] = typer.Option([], "--env", help="NAME=VALUE for the command (repeatable)."),
    contained: bool = typer.Option(
        False, "--contained", help="Run it in a sandbox (bubblewrap) limited to its grants."
    ),
    replace_existing: bool = typer.Option(
        False, "--replace", help="Replace a server registered under the same id."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the entry as JSON."),
) -> None:
    """Register a server: from an MCPB manifest, a command, or a URL.

    Examples: ainos mcp add ./my-server/manifest.json;
    ainos mcp add --name echo -- python server.py;
    ainos mcp add --name search --url https://example.com/mcp --header 'Authorization: Bearer …'
    """
    from ainos.ai.mcp_registry import (
        RemoteEndpoint,
        ServerEntry,
        StdioCommand,
        check_server_id,
        entry_from_manifest,
        read_json,
    )

    words = words or []
    containment: Containment = "contained" if contained else "none"
    if url is not None:
        if words or name is None:
            raise InvalidArgument("--url needs --name, and no command or manifest")
        entry = ServerEntry(
            id=check_server_id(name),
            name=name,
            launch=RemoteEndpoint(url, _pairs(headers, ":", "--header")),
            server_type="remote",
            source="ainos mcp add",
            containment=containment,
        )
    elif name is not None:
        if not words:
            raise InvalidArgument("--name needs the command after --, or --url")
        command, *args = _anchored(words)
        entry = ServerEntry(
            id=check_server_id(name),
            name=name,
            launch=StdioCommand(command, tuple(args), _pairs(env, "=", "--env")),
            source="ainos mcp add",
            containment=containment,
        )
    elif len(words) == 1:
        path = _manifest_path(Path(words[0]).expanduser())
        base = path.resolve().parent
        entry = entry_from_manifest(
            read_json(path), where=str(path), base_dir=base, server_id=server_id, source=str(path)
        )
        if contained:
            from dataclasses import replace

            entry = replace(entry, containment="contained")
    else:
        raise InvalidArgument(
            "give a manifest, or --name NAME -- COMMAND..., or --name NAME --url URL"
        )
    entry = _registry().add(entry, replace_existing=replace_existing)
    if as_json:
        emit_json(entry.to_dict())
    stderr.print(
        f"registered MCP server {escape(entry.id)} ({entry.containment}): "
        f"{escape(_launch_text(entry))}"
    )


@mcp_app.command("remove")
def remove(server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP)) -> None:
    """Unregister a server (and forget its grants)."""
    from ainos.ai.mcp_registry import ConsentStore

    entry = _registry().remove(server_id)
    forgotten = ConsentStore().revoke_server(entry.id)
    grants = f" and its {forgotten} grant{'s' if forgotten != 1 else ''}" if forgotten else ""
    stderr.print(f"removed MCP server {escape(entry.id)}{grants}")


def _set(server_id: str, message: str, **changes: object) -> None:
    entry = _registry().update(server_id, **changes)
    stderr.print(message.format(id=escape(entry.id)))


@mcp_app.command("enable")
def enable(server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP)) -> None:
    """Use a server again: the agent offers its tools, run starts it."""
    _set(server_id, "MCP server {id} is enabled", enabled=True)


@mcp_app.command("disable")
def disable(server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP)) -> None:
    """Keep a server registered but unused: the agent does not offer it, run refuses it."""
    _set(server_id, "MCP server {id} is disabled", enabled=False)


@mcp_app.command("contain")
def contain(
    server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP),
    mode: str = typer.Argument(
        "contained", metavar="MODE", help="contained (a sandbox limited to its grants) or none."
    ),
) -> None:
    """Choose whether a server runs contained (bubblewrap, only its grants) or not."""
    if mode not in ("contained", "none"):
        raise InvalidArgument(f"MODE is contained or none, not {mode!r}")
    how = "contained" if mode == "contained" else "uncontained"
    _set(server_id, f"MCP server {{id}} runs {how}", containment=mode)


def _tool_switch(server_id: str, tool: str, *, enabled: bool) -> None:
    registry = _registry()
    entry = registry.get(server_id).with_tool(tool, enabled=enabled)
    registry.update(
        server_id, enabled_tools=entry.enabled_tools, disabled_tools=entry.disabled_tools
    )
    state = "enabled" if enabled else "disabled"
    stderr.print(f"tool {escape(tool)} of MCP server {escape(server_id)} is {state}")


@mcp_app.command("enable-tool")
def enable_tool(
    server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP),
    tool: str = typer.Argument(..., metavar="TOOL", help="The tool's name (ainos mcp tools ID)."),
) -> None:
    """Let clients see and call one of a server's tools."""
    _tool_switch(server_id, tool, enabled=True)


@mcp_app.command("disable-tool")
def disable_tool(
    server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP),
    tool: str = typer.Argument(..., metavar="TOOL", help="The tool's name (ainos mcp tools ID)."),
) -> None:
    """Hide one of a server's tools from clients: calls of it are refused, never forwarded."""
    _tool_switch(server_id, tool, enabled=False)


@mcp_app.command("tools")
def tools(
    server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP),
    host: str = typer.Option("*", "--host", help="Whose grants shape its sandbox."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Start a server as a client and list its tools, each marked enabled or not."""
    from ainos.ai.mcp_registry import server_tools

    registry = _registry()
    entry = registry.get(server_id)
    found = server_tools(entry, registry=registry, client_name="ainos-cli", host=host)
    rows = [
        {
            "name": tool.name,
            "description": tool.description or "",
            "enabled": entry.tool_allowed(tool.name),
            "read_only": bool(tool.annotations and tool.annotations.read_only_hint),
            "input_schema": tool.input_schema,
        }
        for tool in found
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"tools of {escape(entry.id)}", title_justify="left")
    for column in ("tool", "enabled", "read-only", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(str(row["name"])),
            "yes" if row["enabled"] else "no",
            "yes" if row["read_only"] else "",
            escape(str(row["description"])),
        )
    stdout.print(table)


@mcp_app.command("run")
def run(
    server_id: str = typer.Argument(..., metavar="ID", help=_ID_HELP),
    host: str = typer.Option(
        "*", "--host", help="The client it runs for: its grants (and *'s) apply."
    ),
) -> None:
    """Run a server for the MCP client on stdin/stdout, through containment and the filter.

    This is what ainos mcp config gives clients to run.
    """
    import anyio

    from ainos.ai.mcp_registry import serve_stdio

    entry = _registry().get(server_id)
    if not entry.enabled:
        raise McpRegistryError(f"MCP server {entry.id!r} is disabled (ainos mcp enable {entry.id})")
    anyio.run(lambda: serve_stdio(entry, host=host))


@mcp_app.command("import")
def import_servers(
    path: Path = typer.Argument(
        ...,
        metavar="FILE",
        help="A server.json (MCP Registry), claude_desktop_config.json, Cursor's mcp.json, "
        ".vscode/mcp.json, Codex's config.toml, or an MCPB manifest.",
    ),
    contained: bool = typer.Option(False, "--contained", help="Register them all contained."),
    replace_existing: bool = typer.Option(
        False, "--replace", help="Replace servers registered under the same ids."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """Register the servers a file describes (its format is told from its content)."""
    from dataclasses import replace

    from ainos.ai.mcp_registry import import_file

    imported = import_file(path.expanduser())
    registry = _registry()
    taken = {e.id for e in registry.entries()}
    clashes = [e.id for e in imported.entries if e.id in taken]
    if clashes and not replace_existing:
        raise McpRegistryError(
            f"already registered: {', '.join(clashes)} (remove them, or give --replace)"
        )
    added = []
    for entry in imported.entries:
        chosen = (
            replace(entry, containment="contained") if contained and not entry.remote else entry
        )
        added.append(registry.add(chosen, replace_existing=replace_existing))
    if as_json:
        emit_json([e.to_dict() for e in added])
    for entry in added:
        stderr.print(f"registered MCP server {escape(entry.id)}: {escape(_launch_text(entry))}")
    for note in imported.notes:
        stderr.print(f"note: {escape(note)}", style="yellow")


@mcp_app.command("config")
def config(
    server_id: str = typer.Argument("ainos", metavar="[ID]", help="The server (default ainos)."),
    client: str = typer.Option(
        ..., "--client", help="claude, cursor, vscode (.vscode/mcp.json) or codex (config.toml)."
    ),
) -> None:
    """Print the block that adds a registered server to an MCP client's configuration."""
    from ainos.ai.mcp_registry import CLIENTS, client_config

    if client not in CLIENTS:
        raise InvalidArgument(f"--client is one of {', '.join(CLIENTS)}, not {client!r}")
    entry = _registry().get(server_id)
    typer.echo(client_config(client, entry), nl=False)


mcp_app.add_typer(grants_app, name="grants")
mcp_app.command("audit")(audit_command)


def register(app: typer.Typer) -> None:
    app.add_typer(mcp_app, name="mcp")
