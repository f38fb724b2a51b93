"""The MCP Inspector's CLI — a client ainos did not write — against ``ainos mcp-server`` on
both transports. Installed by ``scripts/node-tools`` (pinned) into ``.cache/node-tools``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / ".cache" / "node-tools" / "node_modules" / ".bin" / "mcp-inspector"
AINOS = [sys.executable, "-m", "ainos"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not INSPECTOR.exists(), reason="the MCP Inspector is not installed: run scripts/node-tools"
    ),
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AINOS_HOME": str(tmp_path / "home")}


def _inspect(env: dict[str, str], target: list[str], *method: str) -> Any:
    done = subprocess.run(
        [str(INSPECTOR), "--cli", *target, "--method", *method],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _stdio() -> list[str]:
    return [*AINOS, "mcp-server"]


@pytest.fixture
def http_url(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*AINOS, "mcp-server", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def _check(env: dict[str, str], target: list[str]) -> None:
    listed = _inspect(env, target, "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"codex", "codex-reply", "embed", "ainos_stats", "Ainos.CountWords"} <= names
    counted = _inspect(
        env,
        target,
        "tools/call",
        "--tool-name",
        "Ainos.CountWords",
        "--tool-arg",
        "Text=one two three",
    )
    assert not counted.get("isError")
    rows = counted["structuredContent"]["Counts"]["content"]
    assert rows[rows.index("Words") + 1] == "3"
    bad = _inspect(env, target, "tools/call", "--tool-name", "embed", "--tool-arg", "nope=1")
    assert bad["isError"] is True
    assert "texts" in bad["content"][0]["text"] or "nope" in bad["content"][0]["text"]
    stats = _inspect(env, target, "resources/read", "--uri", "ainos://stats")
    assert "devices" in json.loads(stats["contents"][0]["text"])
    prompt = _inspect(
        env, target, "prompts/get", "--prompt-name", "code-review", "--prompt-args", "path=src"
    )
    assert "src" in prompt["messages"][0]["content"]["text"]


def test_the_inspector_drives_the_stdio_server(env: dict[str, str]) -> None:
    _check(env, _stdio())


def test_the_inspector_drives_the_http_server(env: dict[str, str], http_url: str) -> None:
    _check(env, [http_url, "--transport", "http"])
