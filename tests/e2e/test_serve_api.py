"""``ainos serve``'s OpenAI-compatible API and the CLI in daemon mode, for real."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openai
import pytest

from ainos.kernel.control import Client

from .conftest import Daemon, start_daemon

MODEL = "all-minilm-l6-v2"


@pytest.fixture
def served(seeded_home: Path, tmp_path: Path) -> Iterator[tuple[Daemon, str]]:
    daemon = start_daemon(tmp_path / "run" / "control.sock", "--pool-mib", "8")
    try:
        with Client(daemon.socket_path) as client:
            url = client.version().endpoints["http"]
        yield daemon, url
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def _ainos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ainos", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_openai_client_against_the_daemon(served: tuple[Daemon, str]) -> None:
    _, url = served
    assert url.startswith("http://127.0.0.1:")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0)
    assert MODEL in [m.id for m in client.models.list()]
    response = client.embeddings.create(model=MODEL, input=["one", "two words"])
    assert len(response.data) == 2
    assert len(response.data[0].embedding) == 384
    assert response.usage.prompt_tokens > 0


def test_cli_in_daemon_mode(served: tuple[Daemon, str]) -> None:
    daemon, _ = served
    socket = str(daemon.socket_path)
    loaded = _ainos("models", "load", MODEL, "--socket", socket)
    assert loaded.returncode == 0, loaded.stderr
    assert "in the daemon" in loaded.stderr
    listed = json.loads(_ainos("models", "list", "--json", "--socket", socket).stdout)
    assert listed[0]["loaded"] is True
    embedded = _ainos("embed", "through the socket", "--json", "--socket", socket)
    assert embedded.returncode == 0, embedded.stderr
    vector = np.array(json.loads(embedded.stdout)["data"][0]["embedding"])
    assert vector.shape == (384,)
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-4
    assert _ainos("models", "unload", MODEL, "--socket", socket).returncode == 0


def test_a_public_host_needs_a_token(tmp_path: Path) -> None:
    result = _ainos("serve", "--socket", str(tmp_path / "c.sock"), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "set --token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
