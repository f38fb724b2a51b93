"""MCPB manifests (``manifest.json`` of an MCP Bundle) to registry entries and back.

A registered server is stored as an MCPB manifest whose command has its variables already
substituted; what only the registry knows (id, containment, tool filters, a remote endpoint,
where it came from) sits under ``_meta["io.ainos"]``, which MCPB reserves for clients. A
remote server has no ``server`` block (MCPB has none for it), only ``_meta``'s ``remote``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ainos.ai.mcp_registry._entry import (
    SERVER_TYPES,
    DeclaredTool,
    RemoteEndpoint,
    ServerEntry,
    StdioCommand,
    check_server_id,
    server_id_from,
)
from ainos.ai.mcp_registry._fields import Fields
from ainos.errors import InvalidArgument, McpManifestError

__all__ = ["MANIFEST_VERSION", "META_KEY", "entry_from_manifest", "manifest_document", "read_json"]

MANIFEST_VERSION = "0.3"
META_KEY = "io.ainos"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def read_json(path: Path) -> Any:
    """The JSON document in ``path``; a missing or malformed file is one error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise McpManifestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise McpManifestError(f"{path}: not valid JSON: {exc}") from exc


def _substitute(text: str, fields: Fields, base_dir: Path | None, key: str) -> str:
    """MCPB's variables: ``${__dirname}`` (the bundle's directory), ``${HOME}``, ``${/}`` and
    ``${pathSeparator}``, and ``${user_config.NAME}`` when that option has a default."""
    config = fields.optional_child("user_config")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "__dirname":
            if base_dir is None:
                raise fields.fault("${__dirname} needs the manifest's directory", key)
            return str(base_dir)
        if name == "HOME":
            return str(Path.home())
        if name in ("/", "pathSeparator"):
            return "/"
        if name.startswith("user_config."):
            option = name.removeprefix("user_config.")
            spec = config.optional_child(option) if config is not None else None
            default = spec.data.get("default") if spec is not None else None
            if isinstance(default, (str, int, float)) and not isinstance(default, bool):
                return str(default)
            raise fields.fault(
                f"${{{name}}} has no default value; set it in the manifest's env or args", key
            )
        raise fields.fault(f"unknown variable ${{{name}}}", key)

    return _VARIABLE.sub(value, text)


def _launch(fields: Fields, base_dir: Path | None, meta: Fields | None) -> tuple[Any, str, str]:
    """(launch, server type, entry point)."""
    remote = meta.optional_child("remote") if meta is not None else None
    if remote is not None:
        url = remote.string("url")
        return RemoteEndpoint(url, remote.string_map("headers")), "remote", url
    server = fields.child("server")
    kind = server.string("type")
    if kind not in SERVER_TYPES or kind == "remote":
        raise server.fault(
            f"expected one of {', '.join(t for t in SERVER_TYPES if t != 'remote')}", "type"
        )
    config = server.child("mcp_config")
    overrides = config.optional_child("platform_overrides")
    linux = overrides.optional_child("linux") if overrides is not None else None
    chosen = {**config.data, **(linux.data if linux is not None else {})}
    merged = Fields(chosen, config.where, config.path)
    command = _substitute(merged.string("command"), fields, base_dir, f"{config.path}.command")
    args = tuple(
        _substitute(a, fields, base_dir, f"{config.path}.args") for a in merged.strings("args")
    )
    env = {
        k: _substitute(v, fields, base_dir, f"{config.path}.env.{k}")
        for k, v in merged.string_map("env").items()
    }
    if not command:
        raise merged.fault("is empty", "command")
    cwd_text = meta.optional_string("cwd") if meta is not None else None
    cwd = Path(cwd_text) if cwd_text else None
    return StdioCommand(command, args, env, cwd), kind, server.string("entry_point", "")


def entry_from_manifest(
    data: object,
    *,
    where: str,
    base_dir: Path | None,
    server_id: str | None = None,
    source: str = "",
) -> ServerEntry:
    """The entry an MCPB manifest describes. ``base_dir`` is its directory (``${__dirname}``,
    the server's own files); ``server_id`` overrides the id (else ``_meta``'s, else one made
    from ``name``)."""
    fields = Fields(data, where)
    metas = fields.optional_child("_meta")
    meta = metas.optional_child(META_KEY) if metas is not None else None
    name = fields.string("name")
    if meta is not None and meta.has("base_dir"):
        base_dir = Path(meta.string("base_dir"))
    launch, kind, entry_point = _launch(fields, base_dir, meta)
    author = fields.optional_child("author")
    tools = tuple(
        DeclaredTool(tool.string("name"), tool.string("description", ""))
        for tool in fields.items("tools")
    )
    chosen_id = server_id or (meta.optional_string("id") if meta is not None else None)
    settings: dict[str, Any] = {}
    if meta is not None:
        settings = {
            "containment": meta.string("containment", "none"),
            "enabled": meta.boolean("enabled", True),
            "enabled_tools": meta.strings("enabled_tools") if meta.has("enabled_tools") else None,
            "disabled_tools": meta.strings("disabled_tools"),
            "source": meta.string("source", source),
        }
    try:
        return ServerEntry(
            id=check_server_id(chosen_id) if chosen_id else server_id_from(name),
            name=name,
            launch=launch,
            version=fields.string("version", "0.0.0"),
            description=fields.string("description", ""),
            author=author.string("name", "") if author is not None else "",
            server_type=kind,
            entry_point=entry_point,
            base_dir=base_dir,
            tools=tools,
            **{"source": source, **settings},
        )
    except InvalidArgument as exc:
        raise McpManifestError(f"{where}: {exc}") from exc


def manifest_document(entry: ServerEntry) -> dict[str, Any]:
    """``entry`` as the MCPB manifest the registry stores."""
    meta: dict[str, Any] = {
        "id": entry.id,
        "containment": entry.containment,
        "enabled": entry.enabled,
        "disabled_tools": list(entry.disabled_tools),
        "source": entry.source,
    }
    if entry.enabled_tools is not None:
        meta["enabled_tools"] = list(entry.enabled_tools)
    if entry.base_dir is not None:
        meta["base_dir"] = str(entry.base_dir)
    document: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "name": entry.name,
        "version": entry.version,
        "description": entry.description,
        "author": {"name": entry.author},
    }
    launch = entry.launch
    if isinstance(launch, RemoteEndpoint):
        meta["remote"] = {"url": launch.url, "headers": dict(launch.headers)}
    else:
        config: dict[str, Any] = {"command": launch.command, "args": list(launch.args)}
        if launch.env:
            config["env"] = dict(launch.env)
        if launch.cwd is not None:
            meta["cwd"] = str(launch.cwd)
        document["server"] = {
            "type": entry.server_type,
            "entry_point": entry.entry_point,
            "mcp_config": config,
        }
    if entry.tools:
        document["tools"] = [_tool(t) for t in entry.tools]
    document["_meta"] = {META_KEY: meta}
    return document


def _tool(tool: DeclaredTool) -> Mapping[str, str]:
    return (
        {"name": tool.name, "description": tool.description}
        if tool.description
        else {"name": tool.name}
    )
