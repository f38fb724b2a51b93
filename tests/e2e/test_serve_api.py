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


def test_pinned_embeddings_from_another_process(served: tuple[Daemon, str]) -> None:
    """A client process stages token ids in its pinned block; the daemon's vectors arrive in
    another block; they equal what the HTTP API answers for the same text."""
    daemon, url = served
    script = """
import json, sys
from ainos.ai.ml import EmbeddingTokenizer, embed_through_pool, packaged_model_dir
from ainos.ai.ml._spec import read_sentence_encoder
from ainos.kernel.control import Client
tokenizer = EmbeddingTokenizer.for_encoder(read_sentence_encoder(packaged_model_dir()))
with Client(sys.argv[1]) as client, client.attach_pool() as mapping:
    vectors = embed_through_pool(
        client, mapping, tokenizer.encode(["shared memory"]), model="all-minilm-l6-v2",
        dimension=384,
    )
print(json.dumps(vectors[0].tolist()))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(daemon.socket_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pinned = np.array(json.loads(result.stdout))
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="local", max_retries=0)
    over_http = client.embeddings.create(model=MODEL, input="shared memory").data[0].embedding
    np.testing.assert_allclose(pinned, over_http, atol=1e-5)
