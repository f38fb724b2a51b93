"""Tokenisation as sentence-transformers does it for all-MiniLM-L6-v2: a 256-token window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ainos.ai.ml import EmbeddingTokenizer, packaged_model_dir, read_sentence_encoder
from ainos.errors import InvalidArgument


@pytest.fixture(scope="module")
def tokenizer() -> EmbeddingTokenizer:
    return EmbeddingTokenizer.for_encoder(read_sentence_encoder(packaged_model_dir()))


def test_window_is_sentence_transformers_max_seq_length(tokenizer: EmbeddingTokenizer) -> None:
    # Neither the tokenizer's model_max_length (512) nor tokenizer.json's own 128.
    assert tokenizer.max_length == 256


def test_counts_match_the_reference(
    tokenizer: EmbeddingTokenizer, reference: dict[str, Any]
) -> None:
    texts = [item["text"] for item in reference["items"]]
    assert tokenizer.count_tokens(texts) == [item["n_tokens"] for item in reference["items"]]


def test_batch_is_padded_right_to_the_longest(tokenizer: EmbeddingTokenizer) -> None:
    feeds = tokenizer.encode(["a short one", "a slightly longer text than the first", "  "])
    assert set(feeds) == {"input_ids", "attention_mask", "token_type_ids"}
    counts = tokenizer.count_tokens(["a short one", "a slightly longer text than the first", ""])
    for array in feeds.values():
        assert array.dtype == np.int64
        assert array.shape == (3, max(counts))
    mask = feeds["attention_mask"]
    assert mask.sum(axis=1).tolist() == counts
    for row, count in enumerate(counts):
        assert mask[row, :count].all()
        assert not mask[row, count:].any()
        assert (feeds["input_ids"][row, count:] == 0).all()  # [PAD]
        assert feeds["input_ids"][row, 0] == 101
        assert feeds["input_ids"][row, count - 1] == 102
    assert not feeds["token_type_ids"].any()


def test_long_text_is_cut_to_the_window(tokenizer: EmbeddingTokenizer) -> None:
    long = "word " * 1000
    feeds = tokenizer.encode([long, "short"])
    assert feeds["input_ids"].shape == (2, 256)
    assert feeds["input_ids"][0, -1] == 102  # [SEP] kept after truncation
    assert tokenizer.count_tokens([long]) == [256]


def test_tokenize_then_collate_equals_encode(tokenizer: EmbeddingTokenizer) -> None:
    texts = ["first text", "Grüße, 東京!", "third and longest text of the three"]
    parts = tokenizer.tokenize(texts)
    joined = tokenizer.collate(parts)
    direct = tokenizer.encode(texts)
    for name in direct:
        np.testing.assert_array_equal(joined[name], direct[name])


def test_empty_batch_and_single_string(tokenizer: EmbeddingTokenizer) -> None:
    assert tokenizer.encode([])["input_ids"].shape == (0, 0)
    with pytest.raises(InvalidArgument):
        tokenizer.encode("not a list")
