"""``ainos models`` and ``ainos embed``, run as a user would (in-process mode: no daemon)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFWriter, LlamaFileType

MODEL = "all-minilm-l6-v2"
CHAT_MODEL = "smollm2-135m-instruct"


def _write_gguf(path: Path) -> Path:
    """A small GGUF with llama metadata and one tensor: enough for the catalog."""
    writer = GGUFWriter(path, "llama")
    writer.add_context_length(1024)
    writer.add_file_type(LlamaFileType.MOSTLY_Q8_0)
    writer.add_token_list(["a", "b", "c"])
    writer.add_tensor("output_norm.weight", np.zeros(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ainos: error: ")
    return lines[0]


def test_embed_in_process_as_json(run_ainos: Any, seeded_home: Path) -> None:
    result = run_ainos("embed", "a cat sits", "a kitten is sitting", "stock markets fell", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    vectors = np.array([item["embedding"] for item in document["data"]])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # the meaning is there


def test_embed_table(run_ainos: Any, seeded_home: Path) -> None:
    result = run_ainos("embed", "hello")
    assert result.returncode == 0, result.stderr
    assert "in-process" in result.stdout
    assert "384" in result.stdout


def test_embed_through_the_daemon_takes_the_api_path(run_ainos: Any, seeded_home: Path) -> None:
    """Through a daemon, ``ainos embed`` is a ``/v1/embeddings`` request like any client's:
    the same vectors as in-process, counted in the daemon's request metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    from ainos.app.api import daemon_api_url
    from ainos.app.bench._daemon import running_daemon

    texts = ("a cat sits", "stock markets fell")
    here = json.loads(run_ainos("embed", *texts, "--json").stdout)
    with running_daemon() as daemon:
        socket = ("--socket", str(daemon.socket_path))
        there = run_ainos("embed", *texts, "--json", *socket)
        assert there.returncode == 0, there.stderr
        table = run_ainos("embed", "hello", *socket)
        url = daemon_api_url(daemon.socket_path)
        assert url is not None
        with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
            exposition = response.read().decode()
    assert "through the daemon" in table.stdout
    np.testing.assert_allclose(
        [row["embedding"] for row in json.loads(there.stdout)["data"]],
        [row["embedding"] for row in here["data"]],
        atol=1e-4,
    )
    served = {
        sample.labels.get("outcome"): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "ainos_model_requests_total"
        and sample.labels.get("model") == "all-minilm-l6-v2"
    }
    assert served.get("ok", 0) >= 2  # both commands' requests, through the API's path


def test_embed_bad_input(run_ainos: Any, seeded_home: Path) -> None:
    assert "must not be empty" in _one_error_line(run_ainos("embed", "  ").stderr)
    assert "no model 'nope'" in _one_error_line(run_ainos("embed", "x", "-m", "nope").stderr)


def test_models_list_show_add_remove(run_ainos: Any, seeded_home: Path, tmp_path: Path) -> None:
    listed = json.loads(run_ainos("models", "list", "--json").stdout)
    assert [m["alias"] for m in listed] == [MODEL, CHAT_MODEL]
    assert all(v["ready"] for v in listed[0]["variants"])
    shown = json.loads(run_ainos("models", "show", MODEL, "--json").stdout)
    assert shown["chosen_variant"] in ("cpu-fp32", "cpu-int8")
    assert "measured here" in shown["choice_reason"]

    gguf = _write_gguf(tmp_path / "tiny.gguf")
    added = run_ainos("models", "add", str(gguf), "--alias", "tiny")
    assert added.returncode == 0, added.stderr
    assert "llama" in added.stderr
    aliases = [m["alias"] for m in json.loads(run_ainos("models", "list", "--json").stdout)]
    assert aliases == [MODEL, CHAT_MODEL, "tiny"]
    again = run_ainos("models", "add", str(gguf), "--alias", "tiny")
    assert "already registered" in _one_error_line(again.stderr)
    assert run_ainos("models", "remove", "tiny").returncode == 0
    gone = run_ainos("models", "remove", "tiny")
    assert "no user model" in _one_error_line(gone.stderr)


def test_load_without_a_daemon_prepares_the_model(run_ainos: Any, seeded_home: Path) -> None:
    result = run_ainos("models", "load", MODEL)
    assert result.returncode == 0, result.stderr
    assert "is ready" in result.stderr
    unload = run_ainos("models", "unload", MODEL)
    assert "no ainos daemon is running" in _one_error_line(unload.stderr)


def test_the_builtin_chat_model_is_listed(run_ainos: Any) -> None:
    listed = {m["alias"]: m for m in json.loads(run_ainos("models", "list", "--json").stdout)}
    chat = listed[CHAT_MODEL]
    assert (chat["task"], chat["format"], chat["source"]) == ("chat", "gguf", "builtin")
    assert (chat["architecture"], chat["context_length"]) == ("llama", 8192)
    assert chat["quantization"] == "Q4_1"
    assert chat["max_input_tokens"] == 8192
    assert [v["name"] for v in chat["variants"]] == ["cpu-q4_1"]
    table = run_ainos("models", "list")
    assert table.returncode == 0, table.stderr
    assert CHAT_MODEL in table.stdout
    shown = run_ainos("models", "show", CHAT_MODEL)
    assert shown.returncode == 0, shown.stderr
    assert "llama, 135M parameters, 8192-token context, Q4_1" in shown.stdout


def test_a_corrupt_gguf_is_refused_in_one_line(run_ainos: Any, tmp_path: Path) -> None:
    truncated = _write_gguf(tmp_path / "whole.gguf").read_bytes()[:100]
    (tmp_path / "cut.gguf").write_bytes(truncated)
    refused = run_ainos("models", "add", str(tmp_path / "cut.gguf"), "--alias", "cut")
    assert refused.returncode == 2
    assert "not a valid GGUF file (truncated" in _one_error_line(refused.stderr)
    aliases = [m["alias"] for m in json.loads(run_ainos("models", "list", "--json").stdout)]
    assert "cut" not in aliases
