"""How a variant compares with fp32 on this machine: agreement of its vectors, and its speed.

The catalog uses the report to offer a cheaper variant only where it is both faster here and
close enough to fp32. Speed is measured by alternating the two models run by run on the same
feeds, so a busy machine slows both alike, and the median run is kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np

from ainos.errors import InvalidArgument

from ._convert import ProgressCallback, Variant
from ._embedding import EmbeddingModel
from ._packaged import DEFAULT_EMBEDDING_MODEL
from ._tokenize import Feeds

__all__ = ["SAMPLE_TEXTS", "SpeedSample", "VariantReport", "compare_models", "evaluate_variant"]

SAMPLE_TEXTS: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog.",
    "ok",
    "A realtime request should never wait behind a batch job on the same GPU.",
    "Wie spät ist es? Il est midi à Paris, 東京では夜の八時です。",
    "def add(a: int, b: int) -> int:\n    return a + b",
    "Dynamic quantisation stores weights as 8-bit integers with one scale per output channel, "
    "and quantises activations on the fly from their observed range.",
    "Summarise the meeting notes and list every action item with its owner.",
    "¿Dónde está la biblioteca?",
)
SHAPES: tuple[tuple[int, int], ...] = ((1, 16), (1, 128), (16, 16), (16, 128))


@dataclass(frozen=True)
class SpeedSample:
    """Median milliseconds per run at one [batch, tokens] shape."""

    batch: int
    tokens: int
    fp32_ms: float
    variant_ms: float

    @property
    def speedup(self) -> float:
        """How many times faster the variant is (below 1: slower)."""
        return self.fp32_ms / self.variant_ms


@dataclass(frozen=True)
class VariantReport:
    variant: str
    mean_cosine: float  # to the fp32 vectors, over every text alone and in one batch
    min_cosine: float
    speed: tuple[SpeedSample, ...]

    def speedup(self, batch: int, tokens: int) -> float:
        for sample in self.speed:
            if (sample.batch, sample.tokens) == (batch, tokens):
                return sample.speedup
        raise InvalidArgument(f"no measurement at batch {batch}, {tokens} tokens")


def _cosines(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    result: np.ndarray[Any, Any] = (a * b).sum(axis=1) / np.maximum(norms, 1e-12)
    return result


def _timing_feeds(model: EmbeddingModel, batch: int, tokens: int) -> Feeds:
    """``batch`` rows of [CLS] + real text tokens + [SEP], exactly ``tokens`` long."""
    body = [
        token for encoding in model.tokenizer.tokenize(SAMPLE_TEXTS) for token in encoding.ids[1:-1]
    ]
    first = model.tokenizer.tokenize(["x"])[0].ids
    cls, sep = first[0], first[-1]
    repeated = (body * (tokens // max(len(body), 1) + 1))[: tokens - 2]
    row = np.array([cls, *repeated, sep], dtype=np.int64)
    ids = np.tile(row, (batch, 1))
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }


def _time(
    reference: EmbeddingModel, candidate: EmbeddingModel, feeds: Feeds, repeats: int
) -> tuple[float, float]:
    for model in (reference, candidate):
        model.run(feeds)  # warm-up: first runs allocate
    spans: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for model, taken in zip((reference, candidate), spans, strict=True):
            start = time.perf_counter()
            model.run(feeds)
            taken.append(time.perf_counter() - start)
    return median(spans[0]) * 1e3, median(spans[1]) * 1e3


def compare_models(
    fp32: EmbeddingModel,
    candidate: EmbeddingModel,
    *,
    variant: str,
    texts: Sequence[str] = SAMPLE_TEXTS,
    shapes: Sequence[tuple[int, int]] = SHAPES,
    repeats: int = 5,
) -> VariantReport:
    """Cosine agreement on ``texts`` and speed at each (batch, tokens) of ``shapes``."""
    if not texts or repeats < 1:
        raise InvalidArgument("compare_models needs at least one text and one repeat")
    batched = _cosines(fp32.embed(texts), candidate.embed(texts))
    alone = np.array([_cosines(fp32.embed([t]), candidate.embed([t]))[0] for t in texts])
    both = np.concatenate([batched, alone])
    limit = min(fp32.tokenizer.max_length, candidate.tokenizer.max_length)
    speed = []
    for batch, tokens in shapes:
        if not 2 <= tokens <= limit or batch < 1:
            raise InvalidArgument(f"cannot time batch {batch} of {tokens} tokens (window {limit})")
        fp32_ms, variant_ms = _time(fp32, candidate, _timing_feeds(fp32, batch, tokens), repeats)
        speed.append(SpeedSample(batch, tokens, fp32_ms, variant_ms))
    return VariantReport(
        variant=variant,
        mean_cosine=float(both.mean()),
        min_cosine=float(both.min()),
        speed=tuple(speed),
    )


def evaluate_variant(
    variant: Variant = "int8",
    alias: str = DEFAULT_EMBEDDING_MODEL,
    *,
    progress: ProgressCallback | None = None,
    repeats: int = 5,
) -> VariantReport:
    """Convert (or load) ``variant`` and fp32 of a packaged model and compare them here."""
    fp32 = EmbeddingModel.packaged(alias, "fp32", progress=progress)
    candidate = (
        fp32 if variant == "fp32" else EmbeddingModel.packaged(alias, variant, progress=progress)
    )
    return compare_models(fp32, candidate, variant=variant, repeats=repeats)
