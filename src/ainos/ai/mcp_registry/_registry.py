"""The registry of MCP servers on this machine: one MCPB manifest per server in
``config_dir()/mcp/<id>.json``, and ainos itself, built in.

A write goes to a temporary file renamed over the old one, so a crash never leaves a
half-written manifest. The last tool listing seen of each server is kept in
``cache_dir()/mcp/tools/<id>.json``: it names a server's tools while it is not running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ainos._files import write_text_atomically
from ainos.ai.mcp_registry._builtin import BUILTIN_ID, builtin_entry
from ainos.ai.mcp_registry._entry import ServerEntry, check_server_id
from ainos.ai.mcp_registry._manifest import entry_from_manifest, manifest_document, read_json
from ainos.errors import InvalidArgument, McpRegistryError, McpServerNotFound
from ainos.paths import cache_dir, config_dir

__all__ = ["McpRegistry"]


class McpRegistry:
    """The registered servers. ``root`` defaults to ``config_dir()/mcp``; ``cache`` (tool
    listings) to ``cache_dir()/mcp/tools``."""

    def __init__(self, root: Path | None = None, cache: Path | None = None) -> None:
        self.root = root if root is not None else config_dir() / "mcp"
        self._cache = cache if cache is not None else cache_dir() / "mcp" / "tools"

    def _path(self, server_id: str) -> Path:
        return self.root / f"{check_server_id(server_id)}.json"

    def _load(self, path: Path) -> ServerEntry:
        entry = entry_from_manifest(read_json(path), where=str(path), base_dir=None)
        if entry.id != path.stem:
            raise McpRegistryError(
                f"{path}: its id is {entry.id!r}; the file must be {entry.id}.json"
            )
        return entry

    def entries(self, *, builtin: bool = True) -> list[ServerEntry]:
        """Every server, ainos first (unless ``builtin`` is false), then by id."""
        found = [builtin_entry()] if builtin else []
        if self.root.is_dir():
            found += [self._load(p) for p in sorted(self.root.glob("*.json"))]
        return found

    def get(self, server_id: str) -> ServerEntry:
        if server_id == BUILTIN_ID:
            return builtin_entry()
        path = self._path(server_id)
        if not path.is_file():
            raise McpServerNotFound(
                f"no MCP server {server_id!r} is registered (see ainos mcp list)"
            )
        return self._load(path)

    def add(self, entry: ServerEntry, *, replace_existing: bool = False) -> ServerEntry:
        """Register ``entry``; an id already taken is refused unless ``replace_existing``."""
        if entry.id == BUILTIN_ID or entry.builtin:
            raise InvalidArgument(
                f"{BUILTIN_ID!r} is ainos itself; register the server as another id"
            )
        path = self._path(entry.id)
        if path.exists() and not replace_existing:
            raise McpRegistryError(
                f"an MCP server {entry.id!r} is already registered; remove it first, or give "
                "another id (--id)"
            )
        write_text_atomically(
            path, json.dumps(manifest_document(entry), indent=2) + "\n", parents=True
        )
        return entry

    def update(self, server_id: str, **changes: Any) -> ServerEntry:
        """Change fields of a registered entry (``enabled``, ``containment``, tool filters)."""
        entry = self.get(server_id)
        if entry.builtin:
            raise InvalidArgument(
                f"{BUILTIN_ID!r} is ainos itself: clients run it directly; nothing of it is stored"
            )
        return self.add(replace(entry, **changes), replace_existing=True)

    def remove(self, server_id: str) -> ServerEntry:
        entry = self.get(server_id)
        if entry.builtin:
            raise InvalidArgument(f"{BUILTIN_ID!r} is ainos itself and cannot be removed")
        self._path(server_id).unlink()
        (self._cache / f"{server_id}.json").unlink(missing_ok=True)
        return entry

    # -- the last tool listing seen --------------------------------------------------

    def save_listing(self, server_id: str, tools: Sequence[Mapping[str, Any]]) -> None:
        """Remember ``tools`` (wire form: name, description, inputSchema …) of a server."""
        document = {"listed_at": time.time(), "tools": [dict(t) for t in tools]}
        write_text_atomically(
            self._cache / f"{check_server_id(server_id)}.json", json.dumps(document), parents=True
        )

    def listing(self, server_id: str) -> list[dict[str, Any]] | None:
        """The last listing saved of a server; None if there is none (or it is unreadable,
        being only a cache)."""
        path = self._cache / f"{check_server_id(server_id)}.json"
        try:
            tools = json.loads(path.read_text(encoding="utf-8"))["tools"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]
