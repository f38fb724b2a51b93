"""The real embedded model as a benchmark workload: all-MiniLM-L6-v2 at a fixed length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL, convert_packaged_model
from ainos.kernel.scheduler import Feeds, SessionLike, session_options


def minilm_workload(
    tokens: int = 16, progress: Callable[[str, float], None] | None = None
) -> tuple[Callable[[int | None], SessionLike], Callable[[int], Feeds]]:
    """(session factory, input factory) for the scheduler bench: pre-tokenised rows of
    exactly ``tokens`` tokens of ordinary word pieces, all attended."""
    import onnxruntime as ort

    converted = convert_packaged_model(DEFAULT_EMBEDDING_MODEL, "fp32", progress=progress)
    path = str(converted.path)

    def make_session(threads: int | None) -> SessionLike:
        session: SessionLike = ort.InferenceSession(
            path, session_options(intra_op_threads=threads), providers=["CPUExecutionProvider"]
        )
        return session

    rng = np.random.default_rng(7)
    # [CLS] … [SEP] around word pieces from the ordinary part of the vocabulary.
    body = rng.integers(2000, 20000, size=tokens - 2)
    row = np.concatenate([[101], body, [102]]).astype(np.int64)

    def make_inputs(rows: int) -> Feeds:
        ids = np.tile(row, (rows, 1))
        feeds: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        return feeds

    return make_session, make_inputs
