"""Machine-learning operations for the control plane's ``submit``: what a daemon client
(``ainos embed``, another process) can run by name."""

from __future__ import annotations

from typing import Any

from ainos.ai.ml._embeddings import MAX_TEXTS_PER_REQUEST, EmbeddingService
from ainos.errors import InvalidArgument
from ainos.kernel.control import OperationContext, OperationRegistry, PreparedWork

__all__ = ["register_ml_operations"]


def register_ml_operations(
    registry: OperationRegistry, embeddings: EmbeddingService, default_model: str
) -> None:
    def embed(args: dict[str, Any], _context: OperationContext) -> PreparedWork:
        model = args.get("model", default_model)
        texts = args.get("texts")
        if not isinstance(model, str) or not model:
            raise InvalidArgument("argument 'model' must be a model alias")
        if (
            not isinstance(texts, list)
            or not texts
            or len(texts) > MAX_TEXTS_PER_REQUEST
            or not all(isinstance(t, str) for t in texts)
        ):
            raise InvalidArgument(
                f"argument 'texts' must be a list of 1 to {MAX_TEXTS_PER_REQUEST} strings"
            )
        prepared = embeddings.prepare(model, texts)
        return PreparedWork(
            work=prepared.work,
            inputs=prepared.feeds,
            batching=prepared.batching,
            batch_key=prepared.key,
            model=prepared.key,
            abortable=True,
        )

    registry.register(
        "embed", embed, "sentence embeddings of args.texts with args.model (one bucket, batched)"
    )
