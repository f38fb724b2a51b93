"""The llama.cpp engine on its own: defaults, tokenising, errors, GPU-layer choice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ainos.ai.ml.llm import EngineSettings, LlamaCppEngine, choose_gpu_layers
from ainos.ai.ml.llm._llamacpp import engine_error
from ainos.errors import ContextLengthExceeded, InvalidArgument, ModelError


def test_default_window_is_the_trained_one_for_every_sequence(chat_model_path: Path) -> None:
    engine = LlamaCppEngine(chat_model_path, EngineSettings(parallel=2, threads=2))
    try:
        assert engine.context_tokens == 8192
        assert engine.parallel == 2
        tokens = engine.tokenize("Hello world")
        assert len(tokens) == 2
        assert all(isinstance(t, int) for t in tokens)
        chunks: list[dict[str, Any]] = []
        engine.chat(
            {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}, chunks.append
        )
        assert chunks[-1]["usage"]["completion_tokens"] <= 3
    finally:
        engine.close()
    engine.close()  # twice is harmless


def test_constrained_output_parses(chat_model_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["YES", "NO"]}},
        "required": ["answer"],
    }
    engine = LlamaCppEngine(chat_model_path, EngineSettings(context_tokens=512, parallel=1))
    try:
        text: list[str] = []

        def sink(chunk: dict[str, Any]) -> bool:
            text.extend(
                (choice.get("delta") or {}).get("content") or ""
                for choice in chunk.get("choices") or ()
            )
            return False

        engine.chat(
            {
                "messages": [{"role": "user", "content": "Reply with exactly YES"}],
                "max_tokens": 32,
                "temperature": 0,
                "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
            },
            sink,
        )
        assert json.loads("".join(text))["answer"] in ("YES", "NO")
        assert "answer" in engine.schema_grammar(schema)
        with pytest.raises(InvalidArgument):
            engine.chat({"messages": "not a list"}, sink)
    finally:
        engine.close()
    with pytest.raises(ModelError):
        engine.chat({"messages": []}, lambda _chunk: False)


def test_unloadable_file_is_a_model_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises((ModelError,)):
        LlamaCppEngine(bogus, EngineSettings(context_tokens=256, parallel=1))


def test_gpu_layers_follow_the_devices() -> None:
    cpu = [{"name": "CPU", "type": "GGML_BACKEND_DEVICE_TYPE_CPU"}]
    gpu = [*cpu, {"name": "CUDA0", "type": "GGML_BACKEND_DEVICE_TYPE_GPU"}]  # fake GPU
    assert choose_gpu_layers(cpu, None) == 0
    assert choose_gpu_layers(gpu, None) > 0
    assert choose_gpu_layers(gpu, 0) == 0
    assert choose_gpu_layers(cpu, 4) == 4


def test_engine_errors_map_to_ainos_errors() -> None:
    exceeded = engine_error(
        {
            "code": 400,
            "type": "exceed_context_size_error",
            "message": "request (10 tokens) exceeds the available context size (8 tokens)",
            "n_prompt_tokens": 10,
            "n_ctx": 8,
        }
    )
    assert isinstance(exceeded, ContextLengthExceeded)
    assert exceeded.context_tokens == 8
    assert isinstance(engine_error({"code": 400, "message": "bad"}), InvalidArgument)
    assert isinstance(engine_error({"code": 500, "message": "boom"}), ModelError)
