"""What a sentence-transformers BERT directory describes, read and checked before conversion.

A directory written by sentence-transformers holds ``modules.json`` (the pipeline: a
Transformer, a Pooling, optionally a Normalize), the Hugging Face ``config.json`` of the
encoder, ``sentence_bert_config.json`` (the sequence window) and the pooling config. Every
fact the converter and the tokenizer rely on is read here, so an unsupported model is turned
away with one clear line before any weights are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ainos.errors import ModelNotFound, UnsupportedModel

__all__ = ["BertConfig", "Pooling", "SentenceEncoderSpec", "read_sentence_encoder"]

Pooling = Literal["mean", "cls"]

_WEIGHTS = "model.safetensors"
_TOKENIZER = "tokenizer.json"


@dataclass(frozen=True)
class BertConfig:
    """The encoder's shape, from the Hugging Face ``config.json``."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


@dataclass(frozen=True)
class SentenceEncoderSpec:
    """A BERT sentence encoder on disk: where its files are and how it pools."""

    directory: Path
    encoder_dir: Path  # the Transformer module's folder (usually ``directory`` itself)
    bert: BertConfig
    pooling: Pooling
    normalize: bool
    max_seq_length: int
    lowercase: bool  # sentence-transformers' own ``do_lower_case``, applied before tokenising

    @property
    def weights(self) -> Path:
        return self.encoder_dir / _WEIGHTS

    @property
    def tokenizer(self) -> Path:
        return self.encoder_dir / _TOKENIZER

    @property
    def config_files(self) -> tuple[Path, ...]:
        """The small files whose content decides the converted graph."""
        candidates = (
            self.directory / "modules.json",
            self.encoder_dir / "config.json",
            self.encoder_dir / "sentence_bert_config.json",
        )
        pooling = tuple(sorted(self.directory.glob("*Pooling*/config.json")))
        return tuple(path for path in candidates if path.is_file()) + pooling


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFound(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnsupportedModel(f"{path} cannot be read: {error}") from error


def _bert_config(path: Path) -> BertConfig:
    raw = _load_json(path)
    if not isinstance(raw, dict):
        raise UnsupportedModel(f"{path}: expected a JSON object")
    model_type = raw.get("model_type")
    if model_type != "bert":
        raise UnsupportedModel(
            f"{path}: model_type {model_type!r} is not supported; only BERT encoders "
            "(model_type 'bert') can be converted"
        )
    if raw.get("hidden_act", "gelu") != "gelu":
        raise UnsupportedModel(
            f"{path}: hidden_act {raw['hidden_act']!r} is not supported (only 'gelu')"
        )
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel(
            f"{path}: position_embedding_type {raw['position_embedding_type']!r} is not "
            "supported (only 'absolute')"
        )
    try:
        config = BertConfig(
            vocab_size=int(raw["vocab_size"]),
            hidden_size=int(raw["hidden_size"]),
            num_layers=int(raw["num_hidden_layers"]),
            num_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            max_positions=int(raw["max_position_embeddings"]),
            type_vocab_size=int(raw.get("type_vocab_size", 2)),
            layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
        )
    except KeyError as missing:
        raise UnsupportedModel(f"{path}: {missing.args[0]!r} is missing") from None
    except (TypeError, ValueError) as error:
        raise UnsupportedModel(f"{path}: {error}") from error
    if config.num_heads <= 0 or config.hidden_size % config.num_heads:
        raise UnsupportedModel(
            f"{path}: hidden_size {config.hidden_size} is not a multiple of "
            f"num_attention_heads {config.num_heads}"
        )
    return config


def _pooling(path: Path) -> Pooling:
    raw = _load_json(path)
    if not isinstance(raw, dict):
        raise UnsupportedModel(f"{path}: expected a JSON object")
    # Newer sentence-transformers write one ``pooling_mode``; older ones a flag per mode.
    if isinstance(raw.get("pooling_mode"), str):
        modes = {raw["pooling_mode"]}
    else:
        modes = {
            key.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
            for key, value in raw.items()
            if key.startswith("pooling_mode_") and value is True
        }
    if modes == {"mean"}:
        return "mean"
    if modes == {"cls"}:
        return "cls"
    raise UnsupportedModel(
        f"{path}: pooling {sorted(modes) or 'none'} is not supported (only mean or cls)"
    )


def read_sentence_encoder(directory: Path) -> SentenceEncoderSpec:
    """Read and check a sentence-transformers BERT directory; nothing heavy is loaded."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelNotFound(f"model directory {directory} does not exist")
    modules = _load_json(directory / "modules.json")
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise UnsupportedModel(f"{directory / 'modules.json'}: expected a list of modules")
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedModel(
            f"{directory}: the module pipeline {kinds} is not supported "
            "(only Transformer, Pooling and an optional Normalize)"
        )
    encoder_dir = directory / str(modules[0].get("path", ""))
    bert = _bert_config(encoder_dir / "config.json")
    pooling = _pooling(directory / str(modules[1].get("path", "")) / "config.json")

    window: dict[str, Any] = {}
    if (encoder_dir / "sentence_bert_config.json").is_file():
        loaded = _load_json(encoder_dir / "sentence_bert_config.json")
        window = loaded if isinstance(loaded, dict) else {}
    max_seq_length = int(window.get("max_seq_length") or bert.max_positions)
    if not 2 <= max_seq_length <= bert.max_positions:
        raise UnsupportedModel(
            f"{directory}: max_seq_length {max_seq_length} does not fit the "
            f"{bert.max_positions} position embeddings"
        )
    spec = SentenceEncoderSpec(
        directory=directory,
        encoder_dir=encoder_dir,
        bert=bert,
        pooling=pooling,
        normalize=len(kinds) == 3,
        max_seq_length=max_seq_length,
        lowercase=bool(window.get("do_lower_case", False)),
    )
    for needed in (spec.weights, spec.tokenizer):
        if not needed.is_file():
            raise ModelNotFound(f"{needed} is missing (safetensors weights and tokenizer.json)")
    return spec
