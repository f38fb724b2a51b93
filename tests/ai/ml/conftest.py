"""Shared fixtures for the on-device ML tests.

The packaged all-MiniLM-L6-v2 is converted once per test session (fp32 and int8) into a
session-wide cache directory; tests that change the cache work on their own copy. Small BERT
encoders with random weights, written on the fly, exercise the converter's generality.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGUFEndian, GGUFWriter, LlamaFileType
from safetensors.numpy import save_file

from ainos.ai.ml import (
    ConvertedModel,
    EmbeddingModel,
    convert_packaged_model,
    packaged_model_dir,
)

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Converted:
    home: Path  # the AINOS_HOME the conversion ran under
    fp32: ConvertedModel
    int8: ConvertedModel
    progress: list[tuple[str, float]]  # what the fp32 conversion reported


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    home = tmp_path_factory.mktemp("ml-home")
    steps: list[tuple[str, float]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AINOS_HOME", str(home))
        fp32 = convert_packaged_model(progress=lambda step, done: steps.append((step, done)))
        int8 = convert_packaged_model(variant="int8")
    return Converted(home, fp32, int8, steps)


@pytest.fixture(scope="session")
def fp32_model(converted: Converted) -> EmbeddingModel:
    return EmbeddingModel.from_converted(converted.fp32)


@pytest.fixture(scope="session")
def int8_model(converted: Converted) -> EmbeddingModel:
    return EmbeddingModel.from_converted(converted.int8)


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """Vectors of the original PyTorch model (see fixtures/make_minilm_reference.py)."""
    loaded: dict[str, Any] = json.loads(
        (FIXTURES / "minilm_reference.json").read_text(encoding="utf-8")
    )
    return loaded


@pytest.fixture
def cache_copy(converted: Converted, ainos_home: Path) -> Path:
    """This test's own cache, seeded with the session's converted fp32 model."""
    source = converted.home / "cache" / "models" / "all-minilm-l6-v2"
    target = ainos_home / "cache" / "models" / "all-minilm-l6-v2"
    target.mkdir(parents=True)
    for name in ("fp32.onnx", "fp32.json"):
        shutil.copy2(source / name, target / name)
    return target


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the packaged model directory; the large weights are linked, not copied."""
    source = packaged_model_dir()
    target = tmp_path / "minilm"
    for path in source.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".safetensors":
                (target / path.relative_to(source)).symlink_to(path)
            else:
                shutil.copy2(path, target / path.relative_to(source))
    return target


TinyEncoder = Callable[..., Path]


@pytest.fixture
def tiny_encoder(tmp_path: Path) -> TinyEncoder:
    """Write a small sentence-transformers BERT directory with random weights.

    Keyword arguments override ``config.json`` entries; ``pooling`` ("mean"/"cls"),
    ``normalize`` and ``prefix`` (prepended to every tensor name, as in checkpoints saved
    from a task model) shape the rest.
    """
    count = 0

    def make(
        *,
        pooling: str = "mean",
        normalize: bool = True,
        prefix: str = "",
        max_seq_length: int = 64,
        **config: Any,
    ) -> Path:
        nonlocal count
        count += 1
        directory = tmp_path / f"tiny-{count}"
        directory.mkdir()
        cfg: dict[str, Any] = {
            "model_type": "bert",
            "architectures": ["BertModel"],
            "hidden_act": "gelu",
            "vocab_size": 30522,  # the real tokenizer's
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 64,
            "max_position_embeddings": 128,
            "type_vocab_size": 2,
            "layer_norm_eps": 1e-12,
        } | config
        (directory / "config.json").write_text(json.dumps(cfg))
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
        ]
        if normalize:
            modules.append(
                {
                    "idx": 2,
                    "name": "2",
                    "path": "2_Normalize",
                    "type": "sentence_transformers.models.Normalize",
                }
            )
        (directory / "modules.json").write_text(json.dumps(modules))
        (directory / "1_Pooling").mkdir()
        (directory / "1_Pooling" / "config.json").write_text(
            json.dumps(
                {
                    "word_embedding_dimension": cfg["hidden_size"],
                    "pooling_mode_cls_token": pooling == "cls",
                    "pooling_mode_mean_tokens": pooling == "mean",
                    "pooling_mode_max_tokens": pooling == "max",
                }
            )
        )
        (directory / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
        )
        shutil.copy2(packaged_model_dir() / "tokenizer.json", directory / "tokenizer.json")
        save_file(
            {prefix + k: v for k, v in random_bert_weights(cfg, seed=count).items()},
            str(directory / "model.safetensors"),
        )
        return directory

    return make


def random_bert_weights(cfg: dict[str, Any], *, seed: int) -> dict[str, np.ndarray[Any, Any]]:
    """Tensors named and shaped as in a Hugging Face BertModel checkpoint."""
    rng = np.random.default_rng(seed)
    h, inner = cfg["hidden_size"], cfg["intermediate_size"]

    def t(*shape: int, scale: float = 0.2) -> np.ndarray[Any, Any]:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": t(cfg["vocab_size"], h),
        "embeddings.position_embeddings.weight": t(cfg["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": t(cfg["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": 1 + t(h, scale=0.1),
        "embeddings.LayerNorm.bias": t(h, scale=0.1),
        "pooler.dense.weight": t(h, h),
        "pooler.dense.bias": t(h),
    }
    for i in range(cfg["num_hidden_layers"]):
        layer = f"encoder.layer.{i}"
        for name, (n_out, n_in) in {
            "attention.self.query": (h, h),
            "attention.self.key": (h, h),
            "attention.self.value": (h, h),
            "attention.output.dense": (h, h),
            "intermediate.dense": (inner, h),
            "output.dense": (h, inner),
        }.items():
            weights[f"{layer}.{name}.weight"] = t(n_out, n_in)
            weights[f"{layer}.{name}.bias"] = t(n_out, scale=0.1)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{layer}.{norm}.weight"] = 1 + t(h, scale=0.1)
            weights[f"{layer}.{norm}.bias"] = t(h, scale=0.1)
    return weights


TinyGguf = Callable[..., Path]


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> TinyGguf:
    """Write a small GGUF "chat model" with llama metadata: 2 layers, 64-wide, 4 heads (2 for
    keys and values), a vocabulary of ``vocab`` tokens and two small zero tensors (1088
    parameters). Keyword arguments change the metadata; ``None`` leaves a key out.
    """

    def make(
        name: str = "tiny.gguf",
        *,
        file_type: int | None = LlamaFileType.MOSTLY_Q8_0,
        context_length: int = 2048,
        head_count_kv: int | list[int] = 2,
        vocab: int = 2000,
        chat_template: str | None = "{% for m in messages %}{{ m.content }}{% endfor %}",
        kind: str | None = None,
        endianess: GGUFEndian = GGUFEndian.LITTLE,
    ) -> Path:
        path = tmp_path / name
        writer = GGUFWriter(path, "llama", endianess=endianess)
        writer.add_name("tiny test model")
        if kind is not None:
            writer.add_type(kind)
        writer.add_context_length(context_length)
        writer.add_embedding_length(64)
        writer.add_block_count(2)
        writer.add_head_count(4)
        writer.add_head_count_kv(head_count_kv)
        if file_type is not None:
            writer.add_file_type(file_type)
        if chat_template is not None:
            writer.add_chat_template(chat_template)
        writer.add_token_list([f"token-{i}" for i in range(vocab)])
        writer.add_token_types([1] * vocab)
        writer.add_tensor("token_embd.weight", np.zeros((16, 64), dtype=np.float32))
        writer.add_tensor("output_norm.weight", np.zeros(64, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path

    return make
