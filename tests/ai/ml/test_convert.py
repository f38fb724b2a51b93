"""Conversion runs once: the cache is keyed by the source's content, checked, and rebuilt."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest

from ainos import paths
from ainos.ai.ml import (
    CONVERTER_VERSION,
    EmbeddingModel,
    convert_packaged_model,
    convert_sentence_encoder,
    model_cache_dir,
)
from ainos.errors import InvalidArgument, ModelError

if TYPE_CHECKING:
    from conftest import Converted, TinyEncoder


def test_converted_files_live_in_the_cache(converted: Converted) -> None:
    base = converted.home / "cache" / "models" / "all-minilm-l6-v2"
    assert converted.fp32.path == base / "fp32.onnx"
    assert converted.int8.path == base / "int8.onnx"
    assert sorted(p.name for p in base.iterdir()) == [
        ".lock",
        "fp32.json",
        "fp32.onnx",
        "int8.json",
        "int8.onnx",
    ]  # no temporary file left behind
    record = json.loads((base / "fp32.json").read_text())
    assert record["converter_version"] == CONVERTER_VERSION
    assert record["source_digest"] == converted.fp32.source_digest
    model = onnx.load(str(converted.int8.path), load_external_data=False)
    assert any(node.op_type == "MatMulInteger" for node in model.graph.node)
    assert converted.int8.path.stat().st_size < converted.fp32.path.stat().st_size


def test_progress_is_reported_in_order(converted: Converted) -> None:
    fractions = [done for _, done in converted.progress]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert converted.progress[-1] == ("done", 1.0)
    steps = {step for step, _ in converted.progress}
    assert {"building graph", "fusing operators", "writing model"} <= steps


def test_second_call_only_loads(converted: Converted, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINOS_HOME", str(converted.home))
    before = converted.fp32.path.stat().st_mtime_ns
    steps: list[tuple[str, float]] = []
    again = convert_packaged_model(progress=lambda step, done: steps.append((step, done)))
    assert converted.fp32.built
    assert not again.built
    assert again.path == converted.fp32.path
    assert again.path.stat().st_mtime_ns == before
    assert dict(again.fusions) == dict(converted.fp32.fusions)
    assert steps[-1] == ("loaded from cache", 1.0)


def test_corrupted_cache_file_is_rebuilt(cache_copy: Path) -> None:
    model_file = cache_copy / "fp32.onnx"
    assert not convert_packaged_model().built  # the copy is a valid cache
    with model_file.open("r+b") as stream:  # flip bytes inside the weights
        stream.seek(model_file.stat().st_size // 2)
        stream.write(b"\x00corrupt\x00")
    rebuilt = convert_packaged_model()
    assert rebuilt.built
    assert EmbeddingModel.from_converted(rebuilt).embed(["still works"]).shape == (1, 384)
    assert not convert_packaged_model().built


def test_truncated_or_missing_record_is_rebuilt(cache_copy: Path) -> None:
    (cache_copy / "fp32.json").write_text("{")
    assert convert_packaged_model().built


def test_changed_source_rebuilds(
    cache_copy: Path, package_copy: Path, converted: Converted
) -> None:
    # Same content at another path: the key is the content, so the cache is valid.
    first = convert_sentence_encoder(package_copy, alias="all-minilm-l6-v2")
    assert not first.built
    assert first.source_digest == converted.fp32.source_digest
    config = package_copy / "1_Pooling" / "config.json"
    config.write_text(config.read_text().replace("\n", "\n "))  # same meaning, new bytes
    changed = convert_sentence_encoder(package_copy, alias="all-minilm-l6-v2")
    assert changed.built
    assert changed.source_digest != converted.fp32.source_digest
    assert not convert_sentence_encoder(package_copy, alias="all-minilm-l6-v2").built


def test_a_users_own_model_converts_the_same_way(
    tiny_encoder: TinyEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tiny_encoder(pooling="cls", normalize=False)
    caplog.set_level(logging.INFO)
    converted = convert_sentence_encoder(directory, alias="my-encoder")
    assert converted.built
    assert converted.path == paths.cache_dir() / "models" / "my-encoder" / "fp32.onnx"
    model = EmbeddingModel.from_converted(converted)
    vectors = model.embed(["one", "two words"])
    assert vectors.shape == (2, 32)
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0)  # no Normalize module
    int8 = convert_sentence_encoder(directory, alias="my-encoder", variant="int8")
    assert int8.built
    assert int8.path.with_suffix(".json").exists()
    # The optimizer's and quantizer's notes (about skipped shape inference and
    # pre-processing) stay off the user's terminal.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("alias", ["", "../escape", "UPPER", "a/b"])
def test_alias_must_be_a_plain_name(alias: str) -> None:
    with pytest.raises(InvalidArgument, match="alias"):
        model_cache_dir(alias)


def test_unknown_variant_is_refused(tiny_encoder: TinyEncoder) -> None:
    with pytest.raises(InvalidArgument, match="variant"):
        convert_sentence_encoder(tiny_encoder(), alias="x", variant="fp16")  # type: ignore[arg-type]


def test_failed_conversion_leaves_nothing_behind(tiny_encoder: TinyEncoder) -> None:
    directory = tiny_encoder()
    os.truncate(directory / "model.safetensors", 100)  # unreadable weights
    with pytest.raises(ModelError, match="cannot be read"):
        convert_sentence_encoder(directory, alias="broken")
    leftovers = [p.name for p in model_cache_dir("broken").iterdir()]
    assert leftovers == [".lock"]
