"""The machine's MCP servers, in the spirit of Windows.AI.Agents.Mcp and its On-Device
Registry (odr): a registry of servers (MCPB manifests in ``config_dir()/mcp``, ainos itself
built in), launched with containment (bubblewrap, under consented grants), reached through a
message filter (per-server tool filters) that feeds an audit log of every tool call.

    registry = McpRegistry()
    registry.add(entry_from_manifest(read_json(path), where=str(path), base_dir=path.parent))
    with McpConnections(registry.entries(builtin=False), client_name="me") as connections:
        result = connections.call("echo", "echo", {"text": "hi"})

Imports are lazy: what needs the MCP SDK (about a second to import) loads it on first use,
so listing or editing the registry stays quick.
"""

from typing import TYPE_CHECKING

from ainos._lazy import lazy_exports

if TYPE_CHECKING:
    from ainos.ai.mcp_registry._audit import AuditLog, AuditRecord, Outcome
    from ainos.ai.mcp_registry._builtin import BUILTIN_ID, ainos_command, builtin_entry
    from ainos.ai.mcp_registry._client import Connection, connect, list_all_tools, server_tools
    from ainos.ai.mcp_registry._connections import McpConnections
    from ainos.ai.mcp_registry._consent import ANY_HOST, Capability, ConsentStore, Grant
    from ainos.ai.mcp_registry._containment import bubblewrap, contained_argv
    from ainos.ai.mcp_registry._database import McpDatabase
    from ainos.ai.mcp_registry._entry import (
        CONTAINMENTS,
        Containment,
        DeclaredTool,
        RemoteEndpoint,
        ServerEntry,
        StdioCommand,
        check_server_id,
        server_id_from,
    )
    from ainos.ai.mcp_registry._export import CLIENTS, client_config, launch_for_client
    from ainos.ai.mcp_registry._filter import Direction, MessageFilter, Verdict
    from ainos.ai.mcp_registry._imports import FORMATS, Imported, import_file, parse_import
    from ainos.ai.mcp_registry._manifest import entry_from_manifest, manifest_document, read_json
    from ainos.ai.mcp_registry._registry import McpRegistry
    from ainos.ai.mcp_registry._serve import serve_stdio

_EXPORTS = {
    "ANY_HOST": "_consent",
    "AuditLog": "_audit",
    "AuditRecord": "_audit",
    "BUILTIN_ID": "_builtin",
    "CLIENTS": "_export",
    "CONTAINMENTS": "_entry",
    "Capability": "_consent",
    "Connection": "_client",
    "ConsentStore": "_consent",
    "Containment": "_entry",
    "DeclaredTool": "_entry",
    "Direction": "_filter",
    "FORMATS": "_imports",
    "Grant": "_consent",
    "Imported": "_imports",
    "McpConnections": "_connections",
    "McpDatabase": "_database",
    "McpRegistry": "_registry",
    "MessageFilter": "_filter",
    "Outcome": "_audit",
    "RemoteEndpoint": "_entry",
    "ServerEntry": "_entry",
    "StdioCommand": "_entry",
    "Verdict": "_filter",
    "ainos_command": "_builtin",
    "bubblewrap": "_containment",
    "builtin_entry": "_builtin",
    "check_server_id": "_entry",
    "client_config": "_export",
    "connect": "_client",
    "contained_argv": "_containment",
    "entry_from_manifest": "_manifest",
    "import_file": "_imports",
    "launch_for_client": "_export",
    "list_all_tools": "_client",
    "manifest_document": "_manifest",
    "parse_import": "_imports",
    "read_json": "_manifest",
    "serve_stdio": "_serve",
    "server_id_from": "_entry",
    "server_tools": "_client",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "ANY_HOST",
    "BUILTIN_ID",
    "CLIENTS",
    "CONTAINMENTS",
    "FORMATS",
    "AuditLog",
    "AuditRecord",
    "Capability",
    "Connection",
    "ConsentStore",
    "Containment",
    "DeclaredTool",
    "Direction",
    "Grant",
    "Imported",
    "McpConnections",
    "McpDatabase",
    "McpRegistry",
    "MessageFilter",
    "Outcome",
    "RemoteEndpoint",
    "ServerEntry",
    "StdioCommand",
    "Verdict",
    "ainos_command",
    "bubblewrap",
    "builtin_entry",
    "check_server_id",
    "client_config",
    "connect",
    "contained_argv",
    "entry_from_manifest",
    "import_file",
    "launch_for_client",
    "list_all_tools",
    "manifest_document",
    "parse_import",
    "read_json",
    "serve_stdio",
    "server_id_from",
    "server_tools",
]
