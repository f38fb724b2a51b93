"""Texts to the int64 feeds of a sentence encoder, cut as sentence-transformers cuts them.

The window is sentence-transformers' ``max_seq_length`` (256 for all-MiniLM-L6-v2), counted
with the [CLS] and [SEP] tokens, not the tokenizer's own 512 nor the 128 that the packaged
``tokenizer.json`` carries. Texts are stripped (and lower-cased where the model asks) first,
as sentence-transformers does, and a batch is padded on the right to its longest text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer

from ainos.errors import InvalidArgument, ModelError

from ._spec import SentenceEncoderSpec

__all__ = ["EmbeddingTokenizer", "Feeds"]

Feeds = dict[str, np.ndarray[Any, np.dtype[np.int64]]]


class EmbeddingTokenizer:
    """A Hugging Face ``tokenizer.json`` configured for one encoder's window.

    :meth:`encode` turns texts into one padded batch; :meth:`tokenize` and :meth:`collate`
    split that in two, so texts can be tokenised as they arrive and batched later.
    """

    def __init__(self, path: Path, max_length: int, *, lowercase: bool = False) -> None:
        if max_length < 2:
            raise InvalidArgument(
                f"max_length must leave room for two special tokens: {max_length}"
            )
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:  # the Rust side raises a bare Exception
            raise ModelError(f"cannot load the tokenizer {path}: {error}") from error
        padding = tokenizer.padding or {}
        self._pad_id = int(padding.get("pad_id", tokenizer.token_to_id("[PAD]") or 0))
        tokenizer.no_padding()  # padding is done per batch by collate()
        tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._lowercase = lowercase

    @classmethod
    def for_encoder(cls, spec: SentenceEncoderSpec) -> EmbeddingTokenizer:
        return cls(spec.tokenizer, spec.max_seq_length, lowercase=spec.lowercase)

    @property
    def max_length(self) -> int:
        """Tokens per text at most, special tokens included."""
        return self._max_length

    @property
    def pad_id(self) -> int:
        """The id that fills a padded row (its mask is 0 there)."""
        return self._pad_id

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Each text's tokens, truncated to the window, not padded."""
        if isinstance(texts, str):
            raise InvalidArgument("expected a sequence of texts, got a single string")
        prepared = [text.strip() for text in texts]
        if self._lowercase:
            prepared = [text.lower() for text in prepared]
        if len(prepared) == 1:  # the batch call costs ~3x more for a single text
            return [self._tokenizer.encode(prepared[0])]
        return self._tokenizer.encode_batch(prepared)

    def collate(self, encodings: Sequence[Encoding], width: int | None = None) -> Feeds:
        """``input_ids``, ``attention_mask`` and ``token_type_ids``, [len(encodings), width],
        padded on the right; ``width`` defaults to the longest encoding."""
        longest = max((len(encoding.ids) for encoding in encodings), default=0)
        if width is None:
            width = longest
        elif width < longest:
            raise InvalidArgument(f"width {width} is shorter than the longest text ({longest})")
        shape = (len(encodings), width)
        feeds: Feeds = {
            "input_ids": np.full(shape, self._pad_id, dtype=np.int64),
            "attention_mask": np.zeros(shape, dtype=np.int64),
            "token_type_ids": np.zeros(shape, dtype=np.int64),
        }
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            feeds["input_ids"][row, :n] = encoding.ids
            feeds["attention_mask"][row, :n] = encoding.attention_mask
            feeds["token_type_ids"][row, :n] = encoding.type_ids
        return feeds

    def encode(self, texts: Sequence[str]) -> Feeds:
        """Texts to one batch of feeds (see :meth:`collate`)."""
        return self.collate(self.tokenize(texts))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in the model, after truncation, special tokens included."""
        return [len(encoding.ids) for encoding in self.tokenize(texts)]
