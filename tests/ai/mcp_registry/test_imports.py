"""Importing servers from the MCP Registry's server.json, client configurations and MCPB
manifests: the format told from the content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.mcp_registry import RemoteEndpoint, StdioCommand, import_file, parse_import
from ainos.errors import McpManifestError

SERVER_JSON: dict[str, Any] = {
    "$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
    "name": "io.github.example/weather",
    "title": "Weather",
    "description": "Forecasts",
    "version": "0.5.0",
    "packages": [
        {
            "registryType": "mcpb",
            "identifier": "https://example.com/weather.mcpb",
            "version": "0.5.0",
            "transport": {"type": "stdio"},
        },
        {
            "registryType": "npm",
            "identifier": "@example/weather",
            "version": "0.5.0",
            "transport": {"type": "stdio"},
            "runtimeArguments": [{"type": "named", "name": "--prefer-offline"}],
            "packageArguments": [
                {"type": "positional", "value": "serve"},
                {"type": "named", "name": "--units", "default": "{unit}",
                 "variables": {"unit": {"default": "metric"}}},
                {"type": "positional", "valueHint": "region", "isRequired": True},
            ],
            "environmentVariables": [
                {"name": "LOG_LEVEL", "default": "info"},
                {"name": "WEATHER_KEY", "isRequired": True, "isSecret": True},
            ],
        },
    ],
    "remotes": [{"type": "streamable-http", "url": "https://weather.example.com/mcp"}],
}  # fmt: skip


def write(tmp_path: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_server_json_runs_its_first_installable_package(tmp_path: Path) -> None:
    imported = import_file(write(tmp_path, "server.json", SERVER_JSON))

    assert imported.format == "server.json"
    [entry] = imported.entries
    assert (entry.id, entry.name, entry.version, entry.server_type) == (
        "weather", "io.github.example/weather", "0.5.0", "node",
    )  # fmt: skip
    assert entry.launch == StdioCommand(
        "npx",
        ("--prefer-offline", "-y", "@example/weather@0.5.0", "serve", "--units", "metric"),
        {"LOG_LEVEL": "info"},
    )
    assert any("WEATHER_KEY (a secret)" in note for note in imported.notes)
    assert any("region" in note for note in imported.notes)


@pytest.mark.parametrize(
    ("package", "command", "args"),
    [
        ({"registryType": "pypi", "identifier": "weather-mcp", "version": "1.0",
          "runtimeHint": "uvx"}, "uvx", ("weather-mcp==1.0",)),
        ({"registryType": "oci", "identifier": "docker.io/x/weather", "version": "2"},
         "docker", ("run", "-i", "--rm", "docker.io/x/weather:2")),
        ({"registryType": "nuget", "identifier": "Weather.Mcp", "version": "3",
          "packageArguments": [{"type": "positional", "value": "mcp"}]},
         "dnx", ("Weather.Mcp@3", "--yes", "--", "mcp")),
    ],
)  # fmt: skip
def test_each_registry_type_has_its_runner(
    package: dict[str, Any], command: str, args: tuple[str, ...]
) -> None:
    document = {"name": "a/b", "description": "", "version": "1", "packages": [package]}
    [entry] = parse_import(json.dumps(document), where="s.json").entries
    assert entry.launch == StdioCommand(command, args, {})


def test_a_server_json_with_only_a_remote_and_the_registry_api_wrapper(tmp_path: Path) -> None:
    document = {
        "server": {
            "name": "io.example/search",
            "description": "Search",
            "version": "1.0.0",
            "remotes": [
                {"type": "sse", "url": "https://s.example.com/sse"},
                {"type": "streamable-http", "url": "https://s.example.com/mcp",
                 "headers": [{"name": "X-Region", "value": "eu"},
                             {"name": "Authorization", "isRequired": True, "isSecret": True}]},
            ],
        },
        "_meta": {"io.modelcontextprotocol.registry/official": {"isLatest": True}},
    }  # fmt: skip
    imported = import_file(write(tmp_path, "api.json", document))

    [entry] = imported.entries
    assert entry.launch == RemoteEndpoint("https://s.example.com/mcp", {"X-Region": "eu"})
    assert entry.remote
    assert entry.server_type == "remote"
    assert any("Authorization" in note for note in imported.notes)


def test_a_server_json_nothing_of_which_runs_here_says_why(tmp_path: Path) -> None:
    document = {**SERVER_JSON, "packages": SERVER_JSON["packages"][:1], "remotes": []}
    with pytest.raises(McpManifestError, match=r"no way to run .*mcpb package"):
        import_file(write(tmp_path, "server.json", document))


def test_claude_desktop_and_cursor_configurations(tmp_path: Path) -> None:
    config = {
        "mcpServers": {
            "files": {"command": "npx", "args": ["-y", "@mcp/fs", "/tmp"], "env": {"A": "1"}},
            "remote-search": {"url": "https://s.example.com/mcp", "headers": {"K": "v"}},
            "old": {"command": "old-server", "disabled": True},
            "legacy": {"type": "sse", "url": "https://l.example.com/sse"},
        }
    }
    imported = import_file(write(tmp_path, "claude_desktop_config.json", config))

    assert imported.format == "mcpServers"
    by_id = {e.id: e for e in imported.entries}
    assert sorted(by_id) == ["files", "old", "remote-search"]
    assert by_id["files"].launch == StdioCommand("npx", ("-y", "@mcp/fs", "/tmp"), {"A": "1"})
    assert by_id["remote-search"].launch == RemoteEndpoint("https://s.example.com/mcp", {"K": "v"})
    assert by_id["old"].enabled is False
    assert any("legacy" in note and "SSE" in note for note in imported.notes)


def test_a_vscode_mcp_json_with_comments_and_inputs(tmp_path: Path) -> None:
    text = """{
      // Servers of this workspace
      "inputs": [{"id": "token", "type": "promptString", "password": true}],
      "servers": {
        "github": {"type": "http", "url": "https://api.example.com/mcp",
                   "headers": {"Authorization": "Bearer ${input:token}"}},
        /* a local one */
        "echo": {"type": "stdio", "command": "python", "args": ["echo.py"],},
      },
    }"""
    imported = import_file(write(tmp_path, "mcp.json", text))

    assert imported.format == "vscode"
    by_id = {e.id: e for e in imported.entries}
    assert by_id["echo"].launch == StdioCommand("python", ("echo.py",), {})
    assert isinstance(by_id["github"].launch, RemoteEndpoint)
    assert any("${input:token}" in note for note in imported.notes)


def test_a_codex_config_toml_with_tool_filters(tmp_path: Path) -> None:
    text = """
model = "o3"

[mcp_servers.docs]
command = "docs-server"
args = ["--stdio"]
env = { DOCS_ROOT = "/srv/docs" }
enabled_tools = ["search", "fetch"]
disabled_tools = ["fetch"]

[mcp_servers.figma]
url = "https://figma.example.com/mcp"
http_headers = { "X-Figma-Region" = "us" }
bearer_token_env_var = "FIGMA_TOKEN"
enabled = false
"""
    imported = import_file(write(tmp_path, "config.toml", text))

    assert imported.format == "codex"
    docs, figma = imported.entries
    assert docs.launch == StdioCommand("docs-server", ("--stdio",), {"DOCS_ROOT": "/srv/docs"})
    assert (docs.enabled_tools, docs.disabled_tools) == (("search", "fetch"), ("fetch",))
    assert [docs.tool_allowed(t) for t in ("search", "fetch", "other")] == [True, False, False]
    assert figma.launch == RemoteEndpoint("https://figma.example.com/mcp", {"X-Figma-Region": "us"})
    assert figma.enabled is False
    assert any("FIGMA_TOKEN" in note for note in imported.notes)


def test_an_mcpb_manifest_can_be_imported_too(tmp_path: Path) -> None:
    manifest = {
        "manifest_version": "0.3",
        "name": "hello",
        "version": "1.0.0",
        "description": "Hello",
        "author": {"name": "A"},
        "server": {
            "type": "node",
            "entry_point": "server/index.js",
            "mcp_config": {"command": "node", "args": ["${__dirname}/server/index.js"]},
        },
    }
    imported = import_file(write(tmp_path, "manifest.json", manifest))

    assert imported.format == "mcpb"
    assert imported.entries[0].launch == StdioCommand(
        "node", (f"{tmp_path.resolve()}/server/index.js",), {}
    )


@pytest.mark.parametrize(
    "content",
    ['{"something": "else"}', "[1, 2]", "not json = [ at all", "key = 'toml without servers'"],
)
def test_an_unknown_format_is_one_error_naming_the_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "mystery.json", content)
    with pytest.raises(McpManifestError) as caught:
        import_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unknown format: expected an MCP Registry server.json")
    assert "\n" not in message


def test_a_missing_file_is_one_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(McpManifestError, match=r"cannot read .*nothing\.json"):
        import_file(tmp_path / "nothing.json")


def test_a_malformed_entry_names_where_it_is(tmp_path: Path) -> None:
    config = {"mcpServers": {"broken": {"args": ["x"]}}}
    with pytest.raises(McpManifestError, match=r"c.json: mcpServers.broken: has neither"):
        import_file(write(tmp_path, "c.json", config))
