"""Shared by the MCP server tests: the server in this process behind the SDK's own client,
and the agent's model played by a fake OpenAI-compatible provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from tests.app.mcp_server.fake_provider import FakeChatProvider, Reply, write_agent_config

from ainos.app.mcp_server import McpServerOptions, build_server

__all__ = ["FakeAgent", "connect"]


@asynccontextmanager
async def connect(
    options: McpServerOptions | None = None,
    *,
    workspace: Path | None = None,
    mode: str = "legacy",
    **client: Any,
) -> AsyncIterator[Client]:
    """A client of a server built in this process (``legacy``: the initialize handshake,
    in which the server can ask the client; else the 2026 era, in which it cannot)."""
    server = build_server(options or McpServerOptions(), workspace=workspace)
    async with Client(server, mode=mode, **client) as connected:
        yield connected


FakeAgent = Callable[..., FakeChatProvider]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Where the agent and the actions work: a README, notes, a CSV."""
    path = tmp_path / "workspace"
    path.mkdir()
    (path / "README.md").write_text("# Demo\n\nA demo project for the MCP server tests.\n")
    (path / "notes.txt").write_text("hello from the notes\n")
    (path / "table.csv").write_text("name,count\napple,3\npear,5\n")
    return path


@pytest.fixture
def fake_agent(ainos_home: Path) -> Iterator[FakeAgent]:
    """Start a fake provider replying from a script, named by this test's agent config."""
    started: list[FakeChatProvider] = []

    def start(
        script: Sequence[Reply] = (),
        *,
        approval_policy: str = "never",
        sandbox_mode: str = "workspace-write",
    ) -> FakeChatProvider:
        provider = FakeChatProvider(script).start()
        started.append(provider)
        write_agent_config(
            ainos_home, provider.url, approval_policy=approval_policy, sandbox_mode=sandbox_mode
        )
        return provider

    yield start
    for provider in started:
        provider.stop()
