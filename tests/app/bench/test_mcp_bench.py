"""The MCP benchmark on the smallest settings: structure and sanity, never speed."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import psutil
import pytest
from mcp import Client
from mcp.server import Server
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from ainos.app.bench._mcp_servers import NOOP, ainos_server, bare_server
from ainos.app.bench.mcp import (
    GOAL_RATIO,
    SERVERS,
    TRANSPORTS,
    McpBenchSettings,
    run_mcp_bench,
)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _our_servers() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ainos.app.bench._mcp_servers" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("make", [bare_server, ainos_server], ids=["bare", "ainos"])
def test_both_servers_serve_the_same_noop_tool(make: Any) -> None:
    async def check(server: Server[Any]) -> tuple[types.Tool, types.CallToolResult]:
        async with Client(server, mode="legacy") as client:
            listing = await client.list_tools()
            [tool] = [t for t in listing.tools if t.name == NOOP]
            return tool, await client.call_tool(NOOP, {})

    tool, result = anyio.run(check, make())

    assert tool.input_schema == {"type": "object", "properties": {}}
    assert not result.is_error
    assert result.content == [types.TextContent(text="")]
    assert result.structured_content is None


def test_every_case_runs_side_by_side(ainos_home: Path) -> None:
    seen: list[tuple[str, float]] = []
    settings = McpBenchSettings(calls=5, repeats=2, warmup=2)

    result = run_mcp_bench(
        settings=settings, progress=lambda label, fraction: seen.append((label, fraction))
    )

    assert [(c.transport, c.server) for c in result.cases] == [
        (transport, server) for transport in TRANSPORTS for server in ("bare", "ainos")
    ]
    assert set(SERVERS) == {"ainos", "bare"}
    versions = {case.protocol_version for case in result.cases}
    assert len(versions) == 1  # the four negotiated alike
    assert versions <= set(HANDSHAKE_PROTOCOL_VERSIONS)
    for case in result.cases:
        assert case.calls == 5
        assert len(case.rounds) == 2
        assert _positive(case.startup_s)
        for run in case.rounds:
            assert 0 < run.p50_ms <= run.p99_ms, run
            assert _positive(run.mean_ms)
            assert _positive(run.seconds)
            assert run.server_cpu_s >= 0
        # Every figure comes from the rounds.
        assert case.p50_ms.median == pytest.approx(statistics.median(r.p50_ms for r in case.rounds))
        assert case.p99_ms.low == min(r.p99_ms for r in case.rounds)
        assert case.calls_per_s.high == pytest.approx(max(5 / r.seconds for r in case.rounds))
        assert 0 <= case.other_cpu_fraction <= 1
    for goal in result.goals():
        ours, bare = result.case("ainos", goal.transport), result.case("bare", goal.transport)
        assert goal.p50_ratio == pytest.approx(ours.p50_ms.median / bare.p50_ms.median)
        assert goal.p99_ratio == pytest.approx(ours.p99_ms.median / bare.p99_ms.median)
        assert goal.met == (goal.p50_ratio <= GOAL_RATIO and goal.p99_ratio <= GOAL_RATIO)

    # Every case's bar reached its end; the servers are gone, their state with them.
    finished = {label for label, fraction in seen if fraction == 1.0}
    assert {f"{s}, {t}" for t in TRANSPORTS for s in SERVERS} < finished
    assert _our_servers() == []
    assert os.environ["AINOS_HOME"] == str(ainos_home)
    assert not (ainos_home / "data").exists()  # the servers' AINOS_HOME was elsewhere

    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON
    assert document["benchmark"] == "mcp"
    assert document["client_mode"] == "legacy"
    assert document["settings"] == {"calls": 5, "repeats": 2, "warmup": 2}
    assert document["goal_ratio"] == GOAL_RATIO
    assert [(c["transport"], c["server"]) for c in document["cases"]] == [
        (c.transport, c.server) for c in result.cases
    ]
    assert len(document["cases"][0]["rounds"]) == 2
    assert [g["transport"] for g in document["goals"]] == list(TRANSPORTS)
    assert {g["met"] for g in document["goals"]} <= {True, False}


def test_the_command_prints_the_table_and_the_goals() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "bench", "mcp", "--calls", "3", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )

    assert done.returncode == 0, done.stderr
    assert "MCP tools/call round trip" in done.stdout
    for transport in TRANSPORTS:
        assert f"goal, {transport}: ainos p50" in done.stdout


def test_the_command_rejects_bad_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ainos", "bench", "mcp", "--calls", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "--calls must be between 1 and 1000000" in done.stderr
