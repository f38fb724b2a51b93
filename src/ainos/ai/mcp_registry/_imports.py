"""Registering servers described elsewhere: the official MCP Registry's ``server.json``, the
configuration files of MCP clients (Claude Desktop and Cursor's ``mcpServers``, VS Code's
``.vscode/mcp.json`` ``servers``, Codex's ``config.toml`` ``[mcp_servers.x]``), and MCPB
manifests. The format is told from the content; what cannot be carried over (an input a
client would prompt for, a required secret) is said in a note, not guessed.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ainos.ai.mcp_registry._entry import (
    RemoteEndpoint,
    ServerEntry,
    StdioCommand,
    check_server_id,
    server_id_from,
)
from ainos.ai.mcp_registry._fields import Fields
from ainos.ai.mcp_registry._manifest import entry_from_manifest
from ainos.errors import InvalidArgument, McpManifestError

__all__ = ["FORMATS", "Imported", "import_file", "parse_import"]

FORMATS = {
    "server.json": "an MCP Registry server.json",
    "mcpServers": "a Claude Desktop or Cursor configuration (mcpServers)",
    "vscode": "a VS Code mcp.json (servers)",
    "codex": "a Codex config.toml ([mcp_servers.NAME])",
    "mcpb": "an MCPB manifest",
}
_UNKNOWN = "unknown format: expected " + ", ".join(FORMATS.values())


@dataclass
class Imported:
    format: str  # a key of FORMATS
    entries: list[ServerEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the person must still do


def import_file(path: Path) -> Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise McpManifestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_import(text, where=str(path), base_dir=path.resolve().parent)


def parse_import(text: str, *, where: str, base_dir: Path | None = None) -> Imported:
    """The servers ``text`` (the content of the file ``where``) describes."""
    data = _decode(text)
    if data is None:
        raise McpManifestError(f"{where}: {_UNKNOWN}")
    importer = _detect(data)
    if importer is None:
        raise McpManifestError(f"{where}: {_UNKNOWN}")
    kind, parse = importer
    imported = Imported(kind)
    parse(Fields(data, where), imported, base_dir)
    if not imported.entries and not imported.notes:
        raise McpManifestError(f"{where}: {FORMATS[kind]} with no servers in it")
    return imported


# -- telling the format -------------------------------------------------------------------


def _decode(text: str) -> dict[str, Any] | None:
    """A JSON object (VS Code allows comments and trailing commas), or a TOML table."""
    for attempt in (text, _without_comments(text)):
        try:
            value = json.loads(attempt)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


_JSONC_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.S)


def _without_comments(text: str) -> str:
    """JSON with comments (JSONC): its comments and trailing commas taken out, strings
    left as they are."""
    return _JSONC_TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)


Parser = Callable[[Fields, Imported, Path | None], None]


def _detect(data: dict[str, Any]) -> tuple[str, Parser] | None:
    if isinstance(data.get("mcp_servers"), dict):
        return "codex", _codex
    if isinstance(data.get("mcpServers"), dict):
        return "mcpServers", _mcp_servers
    if isinstance(data.get("servers"), dict):
        return "vscode", _vscode
    wrapped = data.get("server")  # the registry API wraps one as {"server": {...}, "_meta"}
    if isinstance(wrapped, dict) and ("packages" in wrapped or "remotes" in wrapped):
        return "server.json", lambda f, i, _: _server_json(f.child("server"), i)
    if "name" in data and ("packages" in data or "remotes" in data):
        return "server.json", lambda f, i, _: _server_json(f, i)
    if "manifest_version" in data or "dxt_version" in data or isinstance(wrapped, dict):
        return "mcpb", _mcpb
    return None


def _entry(imported: Imported, fields: Fields, name: str, **values: Any) -> None:
    try:
        imported.entries.append(ServerEntry(id=_id(name), name=name, **values))
    except InvalidArgument as exc:
        raise fields.fault(str(exc)) from exc


def _id(name: str) -> str:
    try:
        return check_server_id(name)
    except InvalidArgument:
        return server_id_from(name)


# -- client configurations ----------------------------------------------------------------


def _remote(
    fields: Fields, name: str, imported: Imported, url: str, headers: dict[str, str]
) -> RemoteEndpoint | None:
    kind = fields.string("type", "http")
    if kind == "sse":
        imported.notes.append(f"{name}: skipped: it uses the SSE transport; ainos speaks "
                              "Streamable HTTP to remote servers")  # fmt: skip
        return None
    return RemoteEndpoint(url, headers)


def _stdio_or_remote(
    fields: Fields, name: str, imported: Imported, *, headers_key: str = "headers"
) -> StdioCommand | RemoteEndpoint | None:
    if fields.has("command"):
        cwd = fields.optional_string("cwd")
        return StdioCommand(
            fields.string("command"),
            fields.strings("args"),
            fields.string_map("env"),
            Path(cwd) if cwd else None,
        )
    if fields.has("url"):
        return _remote(fields, name, imported, fields.string("url"), fields.string_map(headers_key))
    raise fields.fault("has neither a command nor a url")


def _note_unresolved(imported: Imported, name: str, launch: StdioCommand | RemoteEndpoint) -> None:
    """Client-side variables (``${input:…}``, ``${workspaceFolder}``, ``${env:…}``) mean
    nothing to ainos: the person must put in the values."""
    values = (
        [launch.url, *launch.headers.values()]
        if isinstance(launch, RemoteEndpoint)
        else [launch.command, *launch.args, *launch.env.values()]
    )
    found = sorted({m for v in values for m in re.findall(r"\$\{[^}]+\}", v)})
    if found:
        imported.notes.append(
            f"{name}: uses {', '.join(found)}, which the client filled in; edit "
            f"the registered manifest (ainos mcp list shows where) to give the values"
        )


def _mcp_servers(fields: Fields, imported: Imported, base_dir: Path | None) -> None:
    for name, server in fields.child("mcpServers").entries():
        launch = _stdio_or_remote(server, name, imported)
        if launch is None:
            continue
        _note_unresolved(imported, name, launch)
        enabled = not server.boolean("disabled", False)
        _entry(imported, server, name, launch=launch, enabled=enabled,
               server_type="remote" if isinstance(launch, RemoteEndpoint) else "binary",
               source=server.where)  # fmt: skip


def _vscode(fields: Fields, imported: Imported, base_dir: Path | None) -> None:
    for name, server in fields.child("servers").entries():
        if server.has("envFile"):
            imported.notes.append(f"{name}: its envFile is not read; put the variables in env")
        launch = _stdio_or_remote(server, name, imported)
        if launch is None:
            continue
        _note_unresolved(imported, name, launch)
        _entry(imported, server, name, launch=launch,
               server_type="remote" if isinstance(launch, RemoteEndpoint) else "binary",
               source=server.where)  # fmt: skip


def _codex(fields: Fields, imported: Imported, base_dir: Path | None) -> None:
    for name, server in fields.child("mcp_servers").entries():
        launch = _stdio_or_remote(server, name, imported, headers_key="http_headers")
        if launch is None:
            continue
        token = server.optional_string("bearer_token_env_var")
        if token is not None and isinstance(launch, RemoteEndpoint):
            imported.notes.append(
                f"{name}: its bearer token comes from ${token}; add an Authorization header"
            )
        _note_unresolved(imported, name, launch)
        allowed = server.strings("enabled_tools") if server.has("enabled_tools") else None
        _entry(imported, server, name, launch=launch, enabled=server.boolean("enabled", True),
               enabled_tools=allowed, disabled_tools=server.strings("disabled_tools"),
               server_type="remote" if isinstance(launch, RemoteEndpoint) else "binary",
               source=server.where)  # fmt: skip


def _mcpb(fields: Fields, imported: Imported, base_dir: Path | None) -> None:
    imported.entries.append(
        entry_from_manifest(fields.data, where=fields.where, base_dir=base_dir, source=fields.where)
    )


# -- the MCP Registry's server.json --------------------------------------------------------

# registry type → (default runtime, how the package is named to it, its server type)
_RUNTIMES: dict[str, tuple[str, Callable[[str, str], list[str]], str]] = {
    "npm": ("npx", lambda ident, version: ["-y", f"{ident}@{version}"], "node"),
    "pypi": ("uvx", lambda ident, version: [f"{ident}=={version}"], "python"),
    "oci": (
        "docker",
        lambda ident, version: ["run", "-i", "--rm", _image(ident, version)],
        "binary",
    ),
    "nuget": ("dnx", lambda ident, version: [f"{ident}@{version}", "--yes", "--"], "binary"),
}


def _image(identifier: str, version: str) -> str:
    tagged = ":" in identifier.rsplit("/", 1)[-1] or "@" in identifier
    return identifier if tagged or not version else f"{identifier}:{version}"


def _input_value(item: Fields, variables_from: Fields | None = None) -> str | None:
    """An input's value (else its default), its ``{variables}`` filled in from theirs."""
    value = item.optional_string("value") or item.optional_string("default")
    if value is None:
        return None
    variables = item.optional_child("variables")
    if variables is None:
        return value
    for key, variable in variables.entries():
        filled = variable.optional_string("value") or variable.optional_string("default")
        if filled is not None:
            value = value.replace("{" + key + "}", filled)
    return value


def _arguments(items: list[Fields], name: str, imported: Imported) -> list[str]:
    argv: list[str] = []
    for item in items:
        value = _input_value(item)
        if item.string("type", "positional") == "named":
            argv += [item.string("name")] + ([value] if value is not None else [])
        elif value is not None:
            argv.append(value)
        elif item.boolean("isRequired", False):
            hint = item.string("valueHint", item.string("description", "a value"))
            imported.notes.append(f"{name}: needs an argument ({hint}); add it to its args")
    return argv


def _key_values(items: list[Fields], name: str, imported: Imported, what: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key = item.string("name")
        value = _input_value(item)
        if value is not None and not item.boolean("isSecret", False):
            values[key] = value
        elif item.boolean("isRequired", False):
            secret = " (a secret)" if item.boolean("isSecret", False) else ""
            imported.notes.append(f"{name}: needs the {what} {key}{secret}; add it to its manifest")
    return values


def _server_json(fields: Fields, imported: Imported) -> None:
    name = fields.string("name")
    common: dict[str, Any] = {
        "version": fields.string("version", "0.0.0"),
        "description": fields.string("description", ""),
        "source": fields.where,
    }
    skipped: list[str] = []
    for package in fields.items("packages"):
        kind = package.string("registryType")
        transport = package.optional_child("transport")
        if transport is not None and transport.string("type", "stdio") != "stdio":
            skipped.append(f"{kind} package (its {transport.string('type')} transport)")
            continue
        if kind not in _RUNTIMES:
            skipped.append(f"{kind} package (ainos cannot install it)")
            continue
        runtime, spell, server_type = _RUNTIMES[kind]
        command = package.string("runtimeHint", runtime)
        args = _arguments(package.items("runtimeArguments"), name, imported)
        args += spell(package.string("identifier"), package.string("version", ""))
        args += _arguments(package.items("packageArguments"), name, imported)
        env = _key_values(package.items("environmentVariables"), name, imported, "variable")
        _entry(imported, package, name, launch=StdioCommand(command, tuple(args), env),
               server_type=server_type, entry_point=package.string("identifier"),
               **common)  # fmt: skip
        return
    for remote in fields.items("remotes"):
        if remote.string("type") != "streamable-http":
            skipped.append(f"{remote.string('type')} remote")
            continue
        headers = _key_values(remote.items("headers"), name, imported, "header")
        url = remote.string("url")
        if re.search(r"\{[^}]+\}", url):
            imported.notes.append(f"{name}: its url {url} has variables to fill in")
        _entry(imported, remote, name, launch=RemoteEndpoint(url, headers),
               server_type="remote", **common)  # fmt: skip
        return
    reasons = "; ".join(skipped) or "it lists no packages and no remotes"
    raise fields.fault(f"no way to run {name} here: {reasons}")
