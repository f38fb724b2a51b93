"""The blocks that add a registered server to each client's configuration: they parse, and
the one for ainos itself names a command that really runs ainos from anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from dataclasses import replace

import pytest
from tests.ai.mcp_registry.conftest import echo_entry

from ainos import __version__
from ainos.ai.mcp_registry import (
    CLIENTS,
    StdioCommand,
    ainos_command,
    builtin_entry,
    client_config,
)
from ainos.app.cli._main import load_command
from ainos.errors import InvalidArgument


def launch_of(client: str, text: str, server_id: str) -> dict[str, object]:
    """The server's (command, args, …) as the client would read its configuration."""
    if client == "codex":
        return dict(tomllib.loads(text)["mcp_servers"][server_id])
    document = json.loads(text)
    key = "servers" if client == "vscode" else "mcpServers"
    assert list(document) == [key]
    return dict(document[key][server_id])


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_gets_ainos_itself_as_its_mcp_server(client: str) -> None:
    server = launch_of(client, client_config(client, builtin_entry()), "ainos")

    command, prefix = ainos_command()
    assert server["command"] == command
    assert server["args"] == [*prefix, "mcp-server"]
    if client == "vscode":
        assert server["type"] == "stdio"


@pytest.mark.parametrize("client", CLIENTS)
def test_other_servers_are_reached_through_ainos_mcp_run_for_that_client(client: str) -> None:
    server = launch_of(client, client_config(client, echo_entry()), "echo")

    command, prefix = ainos_command()
    assert server["command"] == command
    assert server["args"] == [*prefix, "mcp", "run", "echo", "--host", client]


def test_the_claude_block_for_ainos_would_work() -> None:
    """What Claude Desktop runs: an absolute executable, started with another working
    directory and a bare PATH, is this ainos; and mcp-server is one of its commands."""
    server = launch_of("claude", client_config("claude", builtin_entry()), "ainos")
    command = str(server["command"])
    args = list(server["args"])  # type: ignore[call-overload]

    assert os.path.isabs(command)
    assert os.access(command, os.X_OK)
    done = subprocess.run(
        [command, *args[:-1], "--version"],
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"ainos {__version__}")
    assert args[-1] == "mcp-server"
    assert load_command("mcp-server") is not None


def test_codex_strings_are_toml_strings() -> None:
    odd = StdioCommand('/opt/o"dd\x7f\\ 😀/ainos', ("tab\there", "mcp-server"))
    text = client_config("codex", replace(builtin_entry(), launch=odd))

    server = tomllib.loads(text)["mcp_servers"]["ainos"]
    assert (server["command"], server["args"]) == (odd.command, list(odd.args))


def test_an_unknown_client_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown client 'emacs'"):
        client_config("emacs", builtin_entry())
