"""Which variant of an embedding model this machine runs: int8 only where it is measured to
be both faster and accurate enough here, else fp32.

The measurement (cosine to fp32 on sample texts, speed at a few shapes) is made once per
model build, ONNX Runtime version and CPU, and remembered under the cache directory.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path

import onnxruntime

from ainos._files import write_text_atomically
from ainos.ai.ml._catalog import CatalogEntry
from ainos.ai.ml._convert import convert_sentence_encoder, model_cache_dir
from ainos.ai.ml._embedding import EmbeddingModel
from ainos.ai.ml._evaluate import VariantReport, compare_models
from ainos.kernel.devices import cpu_device
from ainos.protocol import ModelFormat

__all__ = ["MIN_COSINE", "MIN_SPEEDUP", "choose_embedding_variant", "verdict_for"]

Progress = Callable[[str, float], None]

MIN_COSINE = 0.99  # the worst sample text must agree with fp32 at least this well
MIN_SPEEDUP = 1.1  # and int8 must be this much faster at the serving shape (16 x 128)
_SERVING_SHAPE = (16, 128)


def verdict_for(report: VariantReport) -> tuple[str, str]:
    speedup = report.speedup(*_SERVING_SHAPE)
    accurate = report.min_cosine >= MIN_COSINE
    faster = speedup >= MIN_SPEEDUP
    measured = (
        f"int8 measured here: min cosine {report.min_cosine:.4f} to fp32, "
        f"{speedup:.2f}x fp32 speed at batch {_SERVING_SHAPE[0]} x {_SERVING_SHAPE[1]} tokens"
    )
    if accurate and faster:
        return "cpu-int8", measured
    why = "not accurate enough" if not accurate else "not faster enough"
    return "cpu-fp32", f"{measured} ({why})"


def _verdict_path(alias: str) -> Path:
    return model_cache_dir(alias) / "variant-choice.json"


def choose_embedding_variant(
    entry: CatalogEntry, progress: Progress | None = None
) -> tuple[str, str]:
    """(variant, reason) for ``entry`` on this machine, measuring once if need be."""
    if entry.format is not ModelFormat.SENTENCE_TRANSFORMERS:
        return "cpu-fp32", "a single ONNX build"
    fp32 = convert_sentence_encoder(
        entry.path, alias=entry.alias, variant="fp32", progress=progress
    )
    key = {
        "source": fp32.source_digest,
        "onnxruntime": onnxruntime.__version__,
        "cpu": cpu_device().name,
        "machine": platform.machine(),
    }
    path = _verdict_path(entry.alias)
    try:
        remembered = json.loads(path.read_text(encoding="utf-8"))
        if remembered.get("key") == key:
            return str(remembered["variant"]), str(remembered["reason"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # nothing (valid) remembered: measure
    int8 = convert_sentence_encoder(
        entry.path, alias=entry.alias, variant="int8", progress=progress
    )
    if progress is not None:
        progress("measuring int8 against fp32", 0.95)
    report = compare_models(
        EmbeddingModel.from_converted(fp32),
        EmbeddingModel.from_converted(int8),
        variant="int8",
        repeats=3,
    )
    variant, reason = verdict_for(report)
    write_text_atomically(path, json.dumps({"key": key, "variant": variant, "reason": reason}))
    return variant, reason
