from __future__ import annotations

from pathlib import Path

import pytest

from ainos.ai.ml import ModelCatalog
from ainos.errors import InvalidArgument, ModelError, ModelNotFound, UnsupportedModel
from ainos.protocol import ModelFormat, ModelSource, ModelTask


def _gguf(path: Path) -> Path:
    path.write_bytes(b"GGUF" + b"\x00" * 60)
    return path


def test_the_packaged_embedding_model_is_built_in() -> None:
    catalog = ModelCatalog()
    entry = catalog.entry("all-minilm-l6-v2")
    assert entry.source is ModelSource.BUILTIN
    assert entry.task is ModelTask.EMBEDDING
    variants = catalog.variants(entry)
    assert [v.name for v in variants] == ["cpu-fp32", "cpu-int8"]
    assert not any(v.ready for v in variants)  # this AINOS_HOME has converted nothing


def test_converted_variants_are_reported_ready(cache_copy: Path) -> None:
    catalog = ModelCatalog()
    fp32, int8 = catalog.variants(catalog.entry("all-minilm-l6-v2"))
    assert fp32.ready
    assert fp32.path == str(cache_copy / "fp32.onnx")
    assert fp32.size_bytes
    assert not int8.ready


def test_add_list_and_remove_a_gguf_model(tmp_path: Path) -> None:
    catalog = ModelCatalog()
    model = _gguf(tmp_path / "tiny-chat.Q4_K_M.gguf")
    entry = catalog.add(model, alias="tiny-chat")
    assert (entry.task, entry.format) == (ModelTask.CHAT, ModelFormat.GGUF)
    # a second catalog reads the same registry file
    again = ModelCatalog().entry("tiny-chat")
    assert again.path == model.resolve()
    (variant,) = ModelCatalog().variants(again)
    assert variant.precision == "Q4_K_M"
    assert variant.ready
    removed = catalog.remove("tiny-chat")
    assert removed.alias == "tiny-chat"
    with pytest.raises(ModelNotFound):
        catalog.entry("tiny-chat")


def test_add_a_sentence_transformers_directory(converted: object) -> None:
    from ainos.ai.ml import packaged_model_dir

    entry = ModelCatalog().add(packaged_model_dir(), alias="my-minilm")
    assert entry.format is ModelFormat.SENTENCE_TRANSFORMERS
    assert entry.source is ModelSource.USER


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("fake.gguf", b"not gguf", UnsupportedModel, "GGUF magic"),
        ("weights.bin", b"\x00\x01", UnsupportedModel, "not a model ainos can run"),
        ("broken.onnx", b"\x08\x07garbage", UnsupportedModel, "ONNX"),
    ],
)
def test_unusable_files_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        ModelCatalog().add(path, alias="x")
    assert "x" not in ModelCatalog().entries()


def test_a_directory_that_is_not_a_sentence_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        ModelCatalog().add(tmp_path, alias="empty-dir")


def test_aliases_are_checked(tmp_path: Path) -> None:
    catalog = ModelCatalog()
    model = _gguf(tmp_path / "m.gguf")
    with pytest.raises(InvalidArgument, match="alias"):
        catalog.add(model, alias="Bad Alias!")
    with pytest.raises(InvalidArgument, match="built-in"):
        catalog.add(model, alias="all-minilm-l6-v2")
    catalog.add(model, alias="mine")
    with pytest.raises(InvalidArgument, match="already registered"):
        catalog.add(model, alias="mine")
    with pytest.raises(InvalidArgument, match="cannot be removed"):
        catalog.remove("all-minilm-l6-v2")
    with pytest.raises(ModelNotFound):
        catalog.remove("never-added")
    with pytest.raises(ModelNotFound):
        catalog.add(tmp_path / "missing.gguf", alias="missing")


def test_a_corrupt_registry_is_a_clear_error(tmp_path: Path) -> None:
    catalog = ModelCatalog()
    catalog.add(_gguf(tmp_path / "m.gguf"), alias="mine")
    catalog.registry_path.write_text("{broken")
    with pytest.raises(ModelError, match="registry"):
        catalog.entries()
