from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gguf import LlamaFileType

from ainos.ai.ml import DEFAULT_CHAT_MODEL, PACKAGED_CHAT_MODELS, ModelCatalog
from ainos.errors import InvalidArgument, ModelError, ModelNotFound, UnsupportedModel
from ainos.protocol import ModelFormat, ModelSource, ModelTask

if TYPE_CHECKING:
    from conftest import TinyGguf


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


def test_the_packaged_chat_model_is_built_in() -> None:
    catalog = ModelCatalog()
    entry = catalog.entry(DEFAULT_CHAT_MODEL)
    assert (entry.task, entry.format, entry.source) == (
        ModelTask.CHAT,
        ModelFormat.GGUF,
        ModelSource.BUILTIN,
    )
    assert entry.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    info = catalog.info(entry)
    assert (info.architecture, info.context_length, info.quantization) == ("llama", 8192, "Q4_1")
    assert info.max_input_tokens == 8192
    assert info.parameters is not None
    assert 130e6 < info.parameters < 140e6
    (variant,) = info.variants
    assert (variant.name, variant.precision, variant.ready) == ("cpu-q4_1", "Q4_1", True)


def test_without_its_package_the_chat_model_is_not_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    packaged = PACKAGED_CHAT_MODELS[DEFAULT_CHAT_MODEL]
    missing = dataclasses.replace(packaged, distribution="ainos-test-not-installed")
    monkeypatch.setitem(PACKAGED_CHAT_MODELS, DEFAULT_CHAT_MODEL, missing)
    entries = ModelCatalog().entries()
    assert DEFAULT_CHAT_MODEL not in entries
    assert "all-minilm-l6-v2" in entries


def test_the_declared_quantization_wins_over_the_file_name(tiny_gguf: TinyGguf) -> None:
    catalog = ModelCatalog()
    model = tiny_gguf("named.Q4_0.gguf", file_type=LlamaFileType.MOSTLY_F16)
    (variant,) = catalog.variants(catalog.add(model, alias="named"))
    assert (variant.name, variant.precision) == ("cpu-f16", "F16")
    info = catalog.info(catalog.entry("named"))
    assert (info.max_input_tokens, info.context_length) == (2048, 2048)


def test_a_gguf_model_broken_after_it_was_added_is_still_listed(tiny_gguf: TinyGguf) -> None:
    catalog = ModelCatalog()
    model = tiny_gguf("later.Q5_K_M.gguf", file_type=None)
    catalog.add(model, alias="later")
    model.write_bytes(b"GGUF" + bytes(60))
    info = catalog.info(catalog.entry("later"))
    assert info.architecture is None
    assert info.max_input_tokens is None
    assert info.variants[0].precision == "Q5_K_M"  # from the name, as a last resort


def test_add_list_and_remove_a_gguf_model(tiny_gguf: TinyGguf) -> None:
    catalog = ModelCatalog()
    model = tiny_gguf("tiny-chat.Q4_K_M.gguf", file_type=None)
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
        ("cut.gguf", b"GGUF" + bytes(60), UnsupportedModel, "not a valid GGUF file"),
        ("cut.bin", b"GGUF\x03\x00\x00\x00", UnsupportedModel, "truncated"),
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


def test_a_gguf_adapter_is_refused(tiny_gguf: TinyGguf) -> None:
    with pytest.raises(UnsupportedModel, match="GGUF adapter, not a model"):
        ModelCatalog().add(tiny_gguf(kind="adapter"), alias="lora")


def test_a_directory_that_is_not_a_sentence_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        ModelCatalog().add(tmp_path, alias="empty-dir")


def test_aliases_are_checked(tmp_path: Path, tiny_gguf: TinyGguf) -> None:
    catalog = ModelCatalog()
    model = tiny_gguf("m.gguf")
    with pytest.raises(InvalidArgument, match="alias"):
        catalog.add(model, alias="Bad Alias!")
    with pytest.raises(InvalidArgument, match="built-in"):
        catalog.add(model, alias="all-minilm-l6-v2")
    with pytest.raises(InvalidArgument, match="built-in"):
        catalog.add(model, alias=DEFAULT_CHAT_MODEL)
    catalog.add(model, alias="mine")
    with pytest.raises(InvalidArgument, match="already registered"):
        catalog.add(model, alias="mine")
    with pytest.raises(InvalidArgument, match="cannot be removed"):
        catalog.remove("all-minilm-l6-v2")
    with pytest.raises(ModelNotFound):
        catalog.remove("never-added")
    with pytest.raises(ModelNotFound):
        catalog.add(tmp_path / "missing.gguf", alias="missing")


def test_a_corrupt_registry_is_a_clear_error(tiny_gguf: TinyGguf) -> None:
    catalog = ModelCatalog()
    catalog.add(tiny_gguf("m.gguf"), alias="mine")
    catalog.registry_path.write_text("{broken")
    with pytest.raises(ModelError, match="registry"):
        catalog.entries()
