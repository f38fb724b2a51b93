"""The block that adds a registered server to an MCP client's configuration.

ainos itself is added as the client would run it: the ``ainos`` executable with
``mcp-server``. Any other server is added as ``ainos mcp run ID --host CLIENT``, so the
client reaches it through containment, the message filter and the audit, under the grants
given to that client.
"""

from __future__ import annotations

import json
from typing import Literal

from ainos.ai.mcp_registry._builtin import ainos_command
from ainos.ai.mcp_registry._entry import ServerEntry, StdioCommand
from ainos.errors import InvalidArgument

__all__ = ["CLIENTS", "Client", "client_config", "launch_for_client"]

Client = Literal["claude", "cursor", "vscode", "codex"]
CLIENTS: tuple[Client, ...] = ("claude", "cursor", "vscode", "codex")


def launch_for_client(entry: ServerEntry, client: str) -> tuple[str, list[str]]:
    """(command, args) a client runs to reach ``entry``."""
    if entry.builtin and isinstance(entry.launch, StdioCommand):
        return entry.launch.command, list(entry.launch.args)
    command, prefix = ainos_command()
    return command, [*prefix, "mcp", "run", entry.id, "--host", client]


def client_config(client: str, entry: ServerEntry) -> str:
    """The configuration text for ``client``: JSON with ``mcpServers`` (Claude Desktop,
    Cursor), a ``.vscode/mcp.json`` with ``servers`` (VS Code), or a TOML table
    ``[mcp_servers.ID]`` (Codex's ``config.toml``)."""
    command, args = launch_for_client(entry, client)
    if client in ("claude", "cursor"):
        block = {"mcpServers": {entry.id: {"command": command, "args": args}}}
        return json.dumps(block, indent=2) + "\n"
    if client == "vscode":
        server = {"type": "stdio", "command": command, "args": args}
        return json.dumps({"servers": {entry.id: server}}, indent=2) + "\n"
    if client == "codex":
        listed = ", ".join(_toml_string(a) for a in args)
        return f"[mcp_servers.{entry.id}]\ncommand = {_toml_string(command)}\nargs = [{listed}]\n"
    raise InvalidArgument(f"unknown client {client!r}: expected one of {', '.join(CLIENTS)}")


def _toml_string(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but for DEL, which TOML forbids raw
    (and astral characters, which stay raw here rather than become surrogate pairs)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
