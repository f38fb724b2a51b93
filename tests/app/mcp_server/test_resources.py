"""Resources: the machine, each action's definition, each conversation; what a
subscription to the statistics compares."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest
from tests.app.mcp_server.conftest import connect

from ainos.app.mcp_server._resources import _without_clock

pytestmark = pytest.mark.anyio


def test_the_clock_is_left_out_of_the_comparison() -> None:
    stats = {
        "uptime_seconds": 12.5,
        "devices": {"timestamp": 1.0, "cpu": {"utilization_percent": 3.0}},
        "gpus": [{"sampled_at": 2.0, "memory_used_bytes": 5}],
    }
    assert _without_clock(stats) == {
        "devices": {"cpu": {"utilization_percent": 3.0}},
        "gpus": [{"memory_used_bytes": 5}],
    }
    later = {
        **stats,
        "uptime_seconds": 99.0,
        "devices": {"timestamp": 7.0, "cpu": {"utilization_percent": 3.0}},
    }
    assert _without_clock(later) == _without_clock(stats)
    assert _without_clock(3) == 3


async def _read(client: Any, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert isinstance(content, types.TextResourceContents)
    assert str(content.uri) == uri
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def test_the_machine_and_the_actions_are_listed_and_read() -> None:
    async with connect() as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        assert {"ainos://stats", "ainos://processes", "ainos://devices"} <= set(listed)
        assert "ainos://actions/Ainos.CountWords" in listed
        assert all(r.mime_type == "application/json" for r in listed.values())
        stats = await _read(client, "ainos://stats")
        assert {"devices", "scheduler"} <= set(stats)
        processes = await _read(client, "ainos://processes")
        assert isinstance(processes["processes"], list)
        devices = await _read(client, "ainos://devices")
        assert any(d["kind"] == "cpu" for d in devices["devices"])
        assert "CPUExecutionProvider" in devices["execution_providers"]
        action = await _read(client, "ainos://actions/Ainos.CountWords")
        assert action["id"] == "Ainos.CountWords"
        assert [i["name"] for i in action["inputs"]] == ["Text", "Document"]
