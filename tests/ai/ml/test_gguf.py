"""GGUF metadata, read from the file's header without loading the model."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gguf import GGUFEndian, LlamaFileType

from ainos.ai.ml import DEFAULT_CHAT_MODEL, packaged_chat_model_file, read_gguf_info
from ainos.errors import ModelNotFound, UnsupportedModel

if TYPE_CHECKING:
    from conftest import TinyGguf


def test_the_packaged_smollm2() -> None:
    path = packaged_chat_model_file(DEFAULT_CHAT_MODEL)
    started = time.perf_counter()
    info = read_gguf_info(path)
    elapsed = time.perf_counter() - started
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.quantization == "Q4_1"
    assert info.has_chat_template
    assert info.is_model
    assert (info.layers, info.embedding_length, info.head_count, info.head_count_kv) == (
        30,
        576,
        9,
        3,
    )
    assert info.vocab_size == 49152
    assert 130e6 < info.parameters < 140e6
    # 30 layers x (key + value) x 3 KV heads x 64 (576 / 9) x 2 bytes
    assert info.kv_cache_bytes_per_token == 30 * 2 * 3 * 64 * 2
    # The 49,152-token vocabulary and its merges are stepped over, not parsed one by one
    # (which takes seconds).
    assert elapsed < 1.0


@pytest.mark.parametrize("vocab", [10, 2000])  # below and above the stepped-over length
@pytest.mark.parametrize("endianess", [GGUFEndian.LITTLE, GGUFEndian.BIG])
def test_a_written_file_reads_back(tiny_gguf: TinyGguf, vocab: int, endianess: GGUFEndian) -> None:
    path = tiny_gguf(vocab=vocab, endianess=endianess)
    info = read_gguf_info(path)
    assert info.path == path.resolve()
    assert info.architecture == "llama"
    assert info.name == "tiny test model"
    assert info.kind == "model"
    assert info.context_length == 2048
    assert (info.layers, info.embedding_length, info.head_count, info.head_count_kv) == (
        2,
        64,
        4,
        2,
    )
    assert info.quantization == "Q8_0"
    assert info.has_chat_template
    assert info.vocab_size == vocab  # no llama.vocab_size key: the token list's length
    assert (info.tensor_count, info.parameters) == (2, 16 * 64 + 64)
    assert info.kv_cache_bytes_per_token == 2 * 2 * 2 * 16 * 2


@pytest.mark.parametrize(
    ("file_type", "quantization"),
    [
        (LlamaFileType.ALL_F32, "F32"),
        (LlamaFileType.MOSTLY_Q4_K_M, "Q4_K_M"),
        (LlamaFileType.MOSTLY_BF16, "BF16"),
        (LlamaFileType.GUESSED, None),
        (9999, None),  # newer than the installed gguf package
        (None, None),
    ],
)
def test_quantization_names(
    tiny_gguf: TinyGguf, file_type: int | None, quantization: str | None
) -> None:
    assert read_gguf_info(tiny_gguf(file_type=file_type)).quantization == quantization


def test_optional_metadata_may_be_missing(tiny_gguf: TinyGguf) -> None:
    info = read_gguf_info(tiny_gguf(chat_template=None, kind="adapter"))
    assert not info.has_chat_template
    assert info.kind == "adapter"
    assert not info.is_model


def test_per_layer_kv_heads_size_the_cache_from_above(tiny_gguf: TinyGguf) -> None:
    info = read_gguf_info(tiny_gguf(head_count_kv=[1, 4]))
    assert info.head_count_kv == 4
    assert info.kv_cache_bytes_per_token == 2 * 4 * (16 + 16) * 2


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"GGUF",
        b"GGUF" + bytes(60),
        b"\x00" * 64,
        b"not a model at all",
    ],
)
def test_garbage_is_unsupported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.gguf"
    path.write_bytes(content)
    with pytest.raises(UnsupportedModel) as raised:
        read_gguf_info(path)
    assert "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.95, -1])
def test_truncated_files_are_unsupported(tiny_gguf: TinyGguf, keep: float) -> None:
    path = tiny_gguf()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[:-1])
    with pytest.raises(UnsupportedModel, match=r"not a valid GGUF file \(truncated") as raised:
        read_gguf_info(path)
    assert "\n" not in str(raised.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        read_gguf_info(tmp_path / "missing.gguf")


def test_results_are_cached_until_the_file_changes(tiny_gguf: TinyGguf) -> None:
    path = tiny_gguf(context_length=1024)
    first = read_gguf_info(path)
    assert read_gguf_info(path) is first
    tiny_gguf(context_length=4096)  # the same path, rewritten
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))  # a different mtime even on coarse clocks
    assert read_gguf_info(path).context_length == 4096
