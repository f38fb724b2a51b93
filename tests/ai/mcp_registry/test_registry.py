"""The registry: MCPB manifests stored under the config directory, ainos built in."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.ai.mcp_registry.conftest import echo_entry

from ainos.ai.mcp_registry import (
    BUILTIN_ID,
    McpRegistry,
    RemoteEndpoint,
    ServerEntry,
    StdioCommand,
    ainos_command,
    entry_from_manifest,
    server_id_from,
)
from ainos.errors import InvalidArgument, McpManifestError, McpRegistryError, McpServerNotFound


def manifest(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "manifest_version": "0.3",
        "name": "files",
        "version": "1.2.0",
        "description": "Reads files.",
        "author": {"name": "Ada"},
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "python3",
                "args": ["${__dirname}/server/main.py", "--root", "${user_config.root}"],
                "env": {"HOME_AGAIN": "${HOME}"},
                "platform_overrides": {"linux": {"command": "python3.11"}},
            },
        },
        "tools": [{"name": "read", "description": "Read a file"}, {"name": "list"}],
        "user_config": {
            "root": {"type": "directory", "title": "Root", "description": "d", "default": "/srv"}
        },
    }
    document.update(overrides)
    return document


def test_an_mcpb_manifest_becomes_an_entry_with_its_variables_filled_in(tmp_path: Path) -> None:
    entry = entry_from_manifest(manifest(), where="m.json", base_dir=tmp_path)

    assert (entry.id, entry.name, entry.version, entry.author) == ("files", "files", "1.2.0", "Ada")
    assert entry.server_type == "python"
    assert entry.launch == StdioCommand(
        "python3.11",  # the Linux override wins
        (f"{tmp_path}/server/main.py", "--root", "/srv"),
        {"HOME_AGAIN": str(Path.home())},
    )
    assert [t.name for t in entry.tools] == ["read", "list"]
    assert entry.base_dir == tmp_path
    assert (entry.containment, entry.enabled, entry.enabled_tools) == ("none", True, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": 3}, "m.json: name: expected a string, got an integer"),
        ({"server": {"type": "ruby", "entry_point": "x", "mcp_config": {"command": "r"}}},
         "m.json: server.type: expected one of"),
        ({"server": {"type": "node", "entry_point": "x", "mcp_config": {"args": []}}},
         "m.json: server.mcp_config.command: is required"),
        ({"user_config": {}}, "${user_config.root} has no default value"),
    ],
)  # fmt: skip
def test_a_malformed_manifest_is_one_error_naming_file_and_field(
    change: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(McpManifestError) as caught:
        entry_from_manifest(manifest(**change), where="m.json", base_dir=tmp_path)
    assert message in str(caught.value)


def test_add_list_and_remove(tmp_path: Path) -> None:
    registry = McpRegistry()
    assert [e.id for e in registry.entries()] == [BUILTIN_ID]

    registry.add(echo_entry(disabled_tools=("shout",), containment="contained"))
    remote = ServerEntry(id="web", name="web", launch=RemoteEndpoint("https://x/mcp", {"A": "b"}))
    registry.add(remote)

    assert [e.id for e in registry.entries()] == [BUILTIN_ID, "echo", "web"]
    stored = registry.get("echo")
    assert stored == echo_entry(disabled_tools=("shout",), containment="contained")
    assert registry.get("web").launch == RemoteEndpoint("https://x/mcp", {"A": "b"})
    # What is stored is an MCPB manifest with our settings under _meta.
    document = json.loads((registry.root / "echo.json").read_text())
    assert document["manifest_version"] == "0.3"
    assert document["server"]["mcp_config"]["command"] == sys.executable
    assert document["_meta"]["io.ainos"]["disabled_tools"] == ["shout"]
    assert "server" not in json.loads((registry.root / "web.json").read_text())

    assert registry.remove("echo").id == "echo"
    assert [e.id for e in registry.entries(builtin=False)] == ["web"]
    with pytest.raises(McpServerNotFound, match="no MCP server 'echo'"):
        registry.get("echo")
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".")]  # no leftovers


def test_an_id_is_taken_once_unless_replaced() -> None:
    registry = McpRegistry()
    registry.add(echo_entry())
    with pytest.raises(McpRegistryError, match="already registered"):
        registry.add(echo_entry(enabled=False))
    registry.add(echo_entry(enabled=False), replace_existing=True)
    assert registry.get("echo").enabled is False


def test_ainos_is_built_in_and_cannot_be_changed_or_removed() -> None:
    registry = McpRegistry()
    builtin = registry.get(BUILTIN_ID)
    command, prefix = ainos_command()

    assert builtin.builtin
    assert builtin.launch == StdioCommand(command, (*prefix, "mcp-server"))
    for change in (
        lambda: registry.remove(BUILTIN_ID),
        lambda: registry.update(BUILTIN_ID, enabled=False),
        lambda: registry.add(echo_entry(BUILTIN_ID)),
    ):
        with pytest.raises(InvalidArgument, match="ainos itself"):
            change()


def test_the_ainos_command_is_the_script_beside_the_interpreter() -> None:
    command, prefix = ainos_command()
    beside = Path(sys.executable).with_name("ainos")
    if beside.is_file():
        assert (command, prefix) == (str(beside), ())
    else:
        assert (command, prefix) == (sys.executable, ("-m", "ainos"))
    assert os.path.isabs(command)


def test_update_and_tool_switches() -> None:
    registry = McpRegistry()
    registry.add(echo_entry(enabled_tools=("echo",)))

    entry = (
        registry.get("echo").with_tool("read_file", enabled=True).with_tool("echo", enabled=False)
    )
    registry.update("echo", enabled_tools=entry.enabled_tools, disabled_tools=entry.disabled_tools)

    stored = registry.get("echo")
    assert (stored.enabled_tools, stored.disabled_tools) == (("read_file",), ("echo",))
    assert [stored.tool_allowed(t) for t in ("echo", "read_file", "shout")] == [False, True, False]
    with pytest.raises(InvalidArgument, match="containment"):
        registry.update("echo", containment="jail")


def test_a_file_whose_id_differs_from_its_name_is_refused() -> None:
    registry = McpRegistry()
    registry.add(echo_entry())
    (registry.root / "echo.json").rename(registry.root / "other.json")
    with pytest.raises(McpRegistryError, match=r"other.json: its id is 'echo'"):
        registry.entries()


def test_the_last_listing_is_kept_apart_and_forgotten_with_the_server() -> None:
    registry = McpRegistry()
    registry.add(echo_entry())
    assert registry.listing("echo") is None

    registry.save_listing("echo", [{"name": "echo", "inputSchema": {"type": "object"}}])
    assert registry.listing("echo") == [{"name": "echo", "inputSchema": {"type": "object"}}]

    registry.remove("echo")
    assert registry.listing("echo") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("io.github.user/weather", "weather"), ("My Server!", "My-Server"), ("///", "server")],
)
def test_ids_made_from_names(name: str, expected: str) -> None:
    assert server_id_from(name) == expected


@pytest.mark.parametrize("bad", ["", "a__b", "-x", "x_", "a b", "x" * 41])
def test_ids_that_could_not_name_a_tool_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="not a server id"):
        echo_entry(bad)


def test_a_remote_server_cannot_be_contained() -> None:
    with pytest.raises(InvalidArgument, match="remote server"):
        ServerEntry(id="w", name="w", launch=RemoteEndpoint("https://x"), containment="contained")
