"""A registered MCP server: how to reach it, how it is contained, which of its tools clients
see. Pure data; reading and writing it is ``_manifest``'s job."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ainos.errors import InvalidArgument

__all__ = [
    "CONTAINMENTS",
    "SERVER_TYPES",
    "Containment",
    "DeclaredTool",
    "RemoteEndpoint",
    "ServerEntry",
    "StdioCommand",
    "check_server_id",
    "server_id_from",
]

Containment = Literal["none", "contained"]
CONTAINMENTS: tuple[Containment, ...] = ("none", "contained")
# MCPB's server types, and ours for a server reached over the network.
SERVER_TYPES = ("binary", "node", "python", "uv", "remote")

# An id is part of tool names (`mcp__<id>__<tool>`, OpenAI allows [A-Za-z0-9_-]{1,64}) and
# of file names; no "__", so the parts of a tool name stay apart.
_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_)){0,39}")


def check_server_id(value: str) -> str:
    if not _ID.fullmatch(value) or value.endswith("_"):
        raise InvalidArgument(
            f"{value!r} is not a server id: 1-40 letters, digits, '-' or single '_', "
            "starting with a letter or digit"
        )
    return value


def server_id_from(name: str) -> str:
    """An id made from a free-form name: the last part of a reverse-DNS name
    (``io.github.user/weather`` → ``weather``), other characters turned into ``-``."""
    tail = name.rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", tail).strip("-")[:40].strip("-")
    return cleaned or "server"


@dataclass(frozen=True)
class StdioCommand:
    """A local server: a process speaking MCP on its stdin and stdout."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True)
class RemoteEndpoint:
    """A server reached over Streamable HTTP."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeclaredTool:
    """A tool as a manifest declares it (name and description, no schema)."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class ServerEntry:
    id: str
    name: str
    launch: StdioCommand | RemoteEndpoint
    version: str = "0.0.0"
    description: str = ""
    author: str = ""
    server_type: str = "binary"
    entry_point: str = ""
    # The server's own files, readable by it when contained (a manifest's directory).
    base_dir: Path | None = None
    containment: Containment = "none"
    enabled: bool = True
    enabled_tools: tuple[str, ...] | None = None  # None: every tool not disabled
    disabled_tools: tuple[str, ...] = ()
    tools: tuple[DeclaredTool, ...] = ()
    builtin: bool = False  # ainos itself: not stored, not removable
    source: str = ""  # where it was registered from

    def __post_init__(self) -> None:
        check_server_id(self.id)
        if self.containment not in CONTAINMENTS:
            raise InvalidArgument(
                f"containment is one of {', '.join(CONTAINMENTS)}, not {self.containment!r}"
            )
        if self.containment == "contained" and self.remote:
            raise InvalidArgument(
                f"{self.id} is a remote server: it runs elsewhere and cannot be contained here"
            )

    @property
    def remote(self) -> bool:
        return isinstance(self.launch, RemoteEndpoint)

    def tool_allowed(self, tool: str) -> bool:
        """Whether clients may see and call ``tool``: it is not disabled and, when an
        allow-list is set, on it."""
        if tool in self.disabled_tools:
            return False
        return self.enabled_tools is None or tool in self.enabled_tools

    def with_tool(self, tool: str, *, enabled: bool) -> ServerEntry:
        """This entry with ``tool`` enabled (taken off the disabled list and, if there is an
        allow-list, put on it) or disabled."""
        disabled = [t for t in self.disabled_tools if t != tool]
        allowed = None if self.enabled_tools is None else list(self.enabled_tools)
        if enabled:
            if allowed is not None and tool not in allowed:
                allowed.append(tool)
        else:
            disabled.append(tool)
            if allowed is not None and tool in allowed:
                allowed.remove(tool)
        return replace(
            self,
            disabled_tools=tuple(disabled),
            enabled_tools=None if allowed is None else tuple(allowed),
        )

    def describe_launch(self) -> str:
        if isinstance(self.launch, RemoteEndpoint):
            return self.launch.url
        return " ".join([self.launch.command, *self.launch.args])

    def to_dict(self) -> dict[str, Any]:
        launch: dict[str, Any]
        if isinstance(self.launch, RemoteEndpoint):
            # Header values are often credentials: their names only.
            launch = {"url": self.launch.url, "headers": sorted(self.launch.headers)}
        else:
            launch = {
                "command": self.launch.command,
                "args": list(self.launch.args),
                "env": sorted(self.launch.env),
                "cwd": str(self.launch.cwd) if self.launch.cwd else None,
            }
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "author": self.author,
            "type": self.server_type,
            "builtin": self.builtin,
            "enabled": self.enabled,
            "containment": self.containment,
            "enabled_tools": None if self.enabled_tools is None else list(self.enabled_tools),
            "disabled_tools": list(self.disabled_tools),
            "tools": [{"name": t.name, "description": t.description} for t in self.tools],
            "base_dir": str(self.base_dir) if self.base_dir else None,
            "source": self.source,
            **launch,
        }
